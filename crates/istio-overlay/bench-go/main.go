// Command bench-go applies the istio-overlay bench workload with Istio's own code, as
// operator/pkg/render's applyPatches does: the object unmarshalled with yaml.v2 into
// map[any]any, then per patch tpath.GetPathContext(createMissing) and tpath.WritePathContext.
//
// Usage: bench-go WORKLOAD.json OUT.json
//
// WORKLOAD.json is {"objects": [...], "patches": [[{"path", "value"}...]...]} (one patch list
// per object, written by `cargo run --release -p istio-overlay --example vs_istio`). It prints
// one line "go N ns_per_patch" (patching only: parsing is outside the timer) and writes the
// patched objects as JSON to OUT.json.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	yaml2 "gopkg.in/yaml.v2"
	"sigs.k8s.io/yaml"

	"istio.io/istio/operator/pkg/apis"
	"istio.io/istio/operator/pkg/tpath"
	"istio.io/istio/operator/pkg/util"
	"istio.io/istio/pkg/log"
)

type workload struct {
	Objects []json.RawMessage `json:"objects"`
	Patches [][]apis.Patch    `json:"patches"`
}

func main() {
	log.FindScope("tpath").SetOutputLevel(log.NoneLevel)
	raw, err := os.ReadFile(os.Args[1])
	must(err)
	var w workload
	must(json.Unmarshal(raw, &w))
	// Parsing outside the timer: each object as Istio reads it (yaml.v2 into map[any]any).
	objs := make([]map[any]any, len(w.Objects))
	for i, o := range w.Objects {
		y, err := yaml.JSONToYAML(o)
		must(err)
		bo := make(map[any]any)
		must(yaml2.Unmarshal(y, &bo))
		objs[i] = bo
	}
	paths := make([][]util.Path, len(w.Patches))
	for i, ps := range w.Patches {
		for _, p := range ps {
			paths[i] = append(paths[i], util.PathFromString(p.Path))
		}
	}
	n := 0
	start := time.Now()
	for i, bo := range objs {
		for j, p := range w.Patches[i] {
			inc, _, err := tpath.GetPathContext(bo, paths[i][j], true)
			must(err)
			must(tpath.WritePathContext(inc, p.Value))
			n++
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("go %d %.1f\n", len(objs), float64(elapsed.Nanoseconds())/float64(n))
	out := make([]any, len(objs))
	for i, bo := range objs {
		y, err := yaml2.Marshal(bo)
		must(err)
		j, err := yaml.YAMLToJSON(y)
		must(err)
		out[i] = json.RawMessage(j)
	}
	b, err := json.Marshal(out)
	must(err)
	must(os.WriteFile(os.Args[2], b, 0o644))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-go:", err)
		os.Exit(1)
	}
}
