// Command etcd starts etcd's server from the published module go.etcd.io/etcd/server/v3 (its
// etcdmain package is what upstream's etcd binary runs). Built by scripts/build-stack.sh.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
