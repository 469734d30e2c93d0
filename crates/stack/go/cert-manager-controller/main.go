// Command cert-manager-controller runs cert-manager's own control loops (the v1.21 packages
// under github.com/cert-manager/cert-manager/pkg/controller, which register themselves in
// controller.Known()) out of cluster against a kubeconfig.
//
// Why a wrapper: upstream's main package lives in cmd/controller, a nested module whose go.mod
// declares github.com/cert-manager/cert-manager/controller-binary; the Go module proxy cannot
// serve a module whose declared path differs from its directory, and the root module's zip
// leaves nested modules out. Everything that issues certificates is in the root module; this
// file only parses a few flags, builds the controller context, starts the chosen controllers
// and the shared informers, and serves a health endpoint. No leader election, no webhooks,
// no ACME, no gateway/ingress shims.
//
// The set: issuers, clusterissuers, the CertificateRequest approver and its CA/self-signed/Vault
// signers, the certificates-* loops, and the Vault signer for Kubernetes CSRs.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	controller "github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Controllers register themselves with controller.Register in init().
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/vault"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	// Kubernetes CertificateSigningRequests with signer issuers.cert-manager.io/<ns>.<name>
	// signed through a Vault Issuer (upstream's ExperimentalCertificateSigningRequestControllers
	// set, Vault only): what istiod's Kubernetes RA mode asks for.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificatesigningrequests/vault"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// Issuer implementations register themselves with issuer.RegisterIssuer in init().
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/vault"
)

const workers = 5

func main() {
	klog.InitFlags(nil)
	kubeconfig := flag.String("kubeconfig", "", "path to the kubeconfig of the API server")
	namespace := flag.String("namespace", "", "namespace to watch (empty: all namespaces)")
	clusterNS := flag.String("cluster-resource-namespace", "kube-system", "namespace for secrets referenced by ClusterIssuers")
	controllers := flag.String("controllers", "*", "comma-separated controllers to run ('*' = all registered)")
	healthz := flag.String("healthz-listen-address", "127.0.0.1:9403", "address serving /livez and /readyz")
	minBackoff := flag.Duration("certificate-request-minimum-backoff-duration", time.Hour, "first retry delay after a failed issuance")
	maxBackoff := flag.Duration("certificate-request-maximum-backoff-duration", 32*time.Hour, "largest retry delay after failed issuances")
	qps := flag.Float64("kube-api-qps", 20, "client-side QPS when the API server has no priority and fairness")
	burst := flag.Int("kube-api-burst", 50, "client-side burst")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "controller")

	if err := run(ctx, options{
		ContextOptions: controller.ContextOptions{
			Kubeconfig:         *kubeconfig,
			Namespace:          *namespace,
			KubernetesAPIQPS:   float32(*qps),
			KubernetesAPIBurst: *burst,
			IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: *clusterNS},
			CertificateOptions: controller.CertificateOptions{
				CertificateRequestMinimumBackoffDuration: *minBackoff,
				CertificateRequestMaximumBackoffDuration: *maxBackoff,
			},
		},
		controllers: *controllers,
		healthz:     *healthz,
	}); err != nil {
		klog.ErrorS(err, "cert-manager controller failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

type options struct {
	controller.ContextOptions
	controllers string
	healthz     string
}

func selected(spec string) ([]string, error) {
	known := controller.Known()
	var names []string
	if spec == "*" || spec == "" {
		for n := range known {
			names = append(names, n)
		}
	} else {
		for _, n := range strings.Split(spec, ",") {
			n = strings.TrimSpace(n)
			if _, ok := known[n]; !ok {
				return nil, fmt.Errorf("unknown controller %q", n)
			}
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

func run(ctx context.Context, opts options) error {
	names, err := selected(opts.controllers)
	if err != nil {
		return err
	}
	var ready atomic.Bool
	ln, err := net.Listen("tcp", opts.healthz)
	if err != nil {
		return fmt.Errorf("listening for health checks on %s: %w", opts.healthz, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "controllers not started", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	factory, err := controller.NewContextFactory(ctx, opts.ContextOptions)
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}
	base, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, n := range names {
		c, err := controller.Known()[n](factory)
		if err != nil {
			return fmt.Errorf("constructing controller %s: %w", n, err)
		}
		klog.InfoS("starting controller", "controller", n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", n, err)
			}
		}()
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if base.GatewaySolverEnabled {
		base.GWShared.Start(ctx.Done())
	}
	ready.Store(true)
	klog.InfoS("controllers started", "controllers", names)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case err := <-errs:
		return err
	case <-done:
		return nil
	}
}
