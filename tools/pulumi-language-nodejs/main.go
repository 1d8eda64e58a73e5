// Minimal Node.js language host for Pulumi, built by scripts/build-pulumi-cli.sh because the upstream
// module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 is not served by the
// Go module proxy reachable from this machine (403 "This module version is not available").
//
// It implements the parts of the LanguageRuntime gRPC service that `pulumi preview/up/destroy/
// refresh/install/about` need for a Node.js (JavaScript or TypeScript via ts-node) program:
//
//	Handshake, RunPlugin (policy packs, Node.js plugins), GetRequiredPlugins, GetRequiredPackages, Run, GetPluginInfo,
//	InstallDependencies (npm/yarn/pnpm install), About, GetProgramDependencies (direct deps).
//
// Everything else (codegen: GenerateProject/GenerateProgram/GeneratePackage, Pack, Link,
// RuntimeOptionsPrompts, Template)
// answers gRPC Unimplemented, which the engine treats as "old language host" where it can.
//
// The contract with @pulumi/pulumi/cmd/run is taken from that script itself (minimist flags
// --monitor --engine --organization --project --root-directory --stack --pwd --dry-run
// --parallel --tracing, then program and args; env PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS,
// PULUMI_NODEJS_TYPESCRIPT, PULUMI_NODEJS_TSCONFIG_PATH, PULUMI_NODEJS_TRANSPILE_ONLY).
//
// Like the upstream language hosts it watches the engine with rpcutil.Healthcheck: the engine
// starts each plugin in its own process group, so a SIGKILLed `pulumi up` (a killed CI job)
// never reaches this process. Once the engine stops answering (or on SIGINT) the host stops
// the program and plugin processes it started, stops serving and exits. Upstream polls every
// 5 minutes (the engine normally stops its plugins itself); this one every
// engineHealthInterval, so that nothing of a killed update is left within a few seconds.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version reported by GetPluginInfo; set with -ldflags "-X main.Version=...".
var Version = "3.274.1"

const (
	defaultRunModule = "@pulumi/pulumi/cmd/run"
	// Exit code used by @pulumi/pulumi/cmd/run when it already reported the error to the user.
	exitedAfterUserActionableMessage = 32
	// How often the engine's health is checked (upstream: 5 minutes).
	engineHealthInterval = time.Second
	// How long in-flight calls may take to end once the engine is gone, before the host exits anyway.
	stopGrace = 5 * time.Second
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	// Done once the engine is gone (or on SIGINT): every process the host started is stopped.
	alive context.Context
}

// bound is ctx, ended too once the host's engine is gone.
func (h *host) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	bounded, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.alive, cancel)
	return bounded, func() {
		stop()
		cancel()
	}
}

func main() {
	var tracing, root string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.StringVar(&root, "root", "", "Project root path to use (ignored)")
	flag.Bool("typescript", true, "ignored; use the runtime option 'typescript' in Pulumi.yaml")
	flag.Parse()

	alive, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	h := &host{tracing: tracing, alive: alive}
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[0]
	}
	if h.engineAddress != "" {
		if err := rpcutil.Healthcheck(alive, h.engineAddress, engineHealthInterval, stop); err != nil {
			fmt.Fprintf(os.Stderr, "fatal: could not start the engine health check: %v\n", err)
			os.Exit(1)
		}
	}
	cancelChannel := make(chan bool)
	go func() {
		<-alive.Done()
		stop()
		close(cancelChannel)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	select {
	case err := <-handle.Done:
		if err != nil {
			fmt.Fprintf(os.Stderr, "fatal: language host RPC stopped serving: %v\n", err)
			os.Exit(1)
		}
	case <-alive.Done():
		// The graceful stop waits for in-flight calls, whose processes are being stopped.
		select {
		case <-handle.Done:
		case <-time.After(stopGrace):
		}
		os.Exit(1)
	}
}

func (h *host) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// ---------- runtime options (Pulumi.yaml `runtime: {name: nodejs, options: {...}}`) ----------

type options struct {
	typescript      bool
	tsconfig        string
	nodeargs        []string
	packagemanager  string
	transpileOnlyIs string // "", "true" or "false"
}

func parseOptions(info *pulumirpc.ProgramInfo) options {
	o := options{typescript: true}
	if info == nil || info.GetOptions() == nil {
		return o
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok && strings.TrimSpace(v) != "" {
		o.nodeargs = strings.Fields(v)
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.packagemanager = v
	}
	if v, ok := m["transpileOnly"].(bool); ok {
		o.transpileOnlyIs = fmt.Sprint(v)
	}
	return o
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

// ---------- plugin discovery ----------

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
		// Parameterized packages are reported as plain plugins by this host.
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("unmarshaling %s: %w", path, err)
	}
	return &p, nil
}

// findPlugins scans <dir>/node_modules (and nested node_modules of each package, following
// symlinks once) and returns every package whose package.json has "pulumi": {"resource": true},
// which is how the upstream host decides which resource plugins a program needs.
func findPlugins(dir string) []*pulumirpc.PluginDependency {
	seen := map[string]bool{}
	visited := map[string]bool{}
	var out []*pulumirpc.PluginDependency
	var scanPkg func(pkgDir string)
	scanNM := func(nm string) {
		entries, err := os.ReadDir(nm)
		if err != nil {
			return
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			p := filepath.Join(nm, n)
			if strings.HasPrefix(n, "@") {
				subs, err := os.ReadDir(p)
				if err != nil {
					continue
				}
				for _, s := range subs {
					scanPkg(filepath.Join(p, s.Name()))
				}
				continue
			}
			scanPkg(p)
		}
	}
	scanPkg = func(pkgDir string) {
		real, err := filepath.EvalSymlinks(pkgDir)
		if err != nil || visited[real] {
			return
		}
		visited[real] = true
		if pkg, err := readPackageJSON(filepath.Join(pkgDir, "package.json")); err == nil && pkg.Pulumi.Resource {
			name := pkg.Pulumi.Name
			if name == "" {
				name = strings.TrimPrefix(pkg.Name, "@pulumi/")
				name = strings.TrimPrefix(name, "@")
			}
			version := pkg.Pulumi.Version
			if version == "" {
				version = pkg.Version
			}
			if version != "" && !strings.HasPrefix(version, "v") {
				version = "v" + version
			}
			if key := name + "@" + version; name != "" && !seen[key] {
				seen[key] = true
				out = append(out, &pulumirpc.PluginDependency{
					Name: name, Kind: "resource", Version: version, Server: pkg.Pulumi.Server,
				})
			}
		}
		scanNM(filepath.Join(pkgDir, "node_modules"))
	}
	scanNM(filepath.Join(dir, "node_modules"))
	sort.Slice(out, func(i, j int) bool { return out[i].Name+out[i].Version < out[j].Name+out[j].Version })
	return out
}

func (h *host) GetRequiredPlugins(ctx context.Context,
	req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	//nolint:staticcheck
	dir := programDir(req.GetInfo(), req.GetPwd())
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: findPlugins(dir)}, nil
}

func (h *host) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	dir := programDir(req.GetInfo(), "")
	var pkgs []*pulumirpc.PackageDependency
	for _, p := range findPlugins(dir) {
		pkgs = append(pkgs, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// ---------- Run ----------

func resolveModule(nodeBin, dir, mod string) (string, error) {
	cmd := exec.Command(nodeBin, "-e", fmt.Sprintf("console.log(require.resolve(%q))", mod))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts := parseOptions(info)
	pwd := req.GetPwd()
	if pwd == "" {
		pwd = programDir(info, "")
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = defaultRunModule
	}
	runPath, err = resolveModule(nodeBin, pwd, runPath)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "It looks like the Pulumi SDK has not been installed. " +
			"Have you run npm install or yarn install?"}, nil
	}

	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", pwd)
	if info != nil {
		add("root-directory", info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", fmt.Sprint(req.GetParallel()))
	add("tracing", h.tracing)
	program := "."
	if info != nil && info.GetEntryPoint() != "" {
		program = info.GetEntryPoint()
	} else if req.GetProgram() != "" {
		program = req.GetProgram()
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}

	env := os.Environ()
	env = append(env,
		"PULUMI_CONFIG="+string(cfgJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
		"PULUMI_NODEJS_TYPESCRIPT="+fmt.Sprint(opts.typescript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	if opts.transpileOnlyIs != "" {
		env = append(env, "PULUMI_NODEJS_TRANSPILE_ONLY="+opts.transpileOnlyIs)
	}
	if req.GetQueryMode() {
		env = append(env, "PULUMI_NODEJS_QUERY_MODE=true")
	}

	ctx, cancel := h.bound(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = pwd
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitedAfterUserActionableMessage {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// ---------- RunPlugin (policy packs and Node.js-written plugins) ----------

// RunPlugin runs a plugin whose source is a Node.js package: a policy pack (kind "analyzer",
// via @pulumi/pulumi/cmd/run-policy-pack, which takes <engine-address> <program-dir>) or a
// provider/tool plugin (via @pulumi/pulumi/cmd/run-plugin, which takes <program-dir> [args...]).
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	info := req.GetInfo()
	opts := parseOptions(info)
	//nolint:staticcheck
	dir := programDir(info, req.GetProgram())
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	args := append([]string{}, opts.nodeargs...)
	switch req.GetKind() {
	case "analyzer", "policy":
		runPath, err := resolveModule(nodeBin, dir, "@pulumi/pulumi/cmd/run-policy-pack")
		if err != nil {
			return fmt.Errorf("could not find @pulumi/pulumi/cmd/run-policy-pack from %s "+
				"(run npm install in the policy pack): %w", dir, err)
		}
		// The engine passes the plugin's usual argv (the engine address first); the script wants
		// <engine-address> <program-dir>, so add the program directory if it is missing.
		pargs := req.GetArgs()
		args = append(args, runPath)
		if len(pargs) > 0 {
			args = append(args, pargs[0], dir)
			args = append(args, pargs[1:]...)
		} else {
			args = append(args, "", dir)
		}
	default:
		runPath, err := resolveModule(nodeBin, dir, "@pulumi/pulumi/cmd/run-plugin")
		if err != nil {
			return fmt.Errorf("could not find @pulumi/pulumi/cmd/run-plugin from %s: %w", dir, err)
		}
		args = append(args, runPath, dir)
		args = append(args, req.GetArgs()...)
	}
	ctx, cancel := h.bound(server.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	// Run inside the plugin's own directory: @pulumi/policy reads ./package.json for the pack version.
	cmd.Dir = dir
	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	cmd.Env = append(append([]string{}, env...), "PULUMI_NODEJS_TYPESCRIPT="+fmt.Sprint(opts.typescript))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	pump := func(r io.Reader, isErr bool) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				chunk := append([]byte(nil), buf[:n]...)
				resp := &pulumirpc.RunPluginResponse{}
				if isErr {
					resp.Output = &pulumirpc.RunPluginResponse_Stderr{Stderr: chunk}
				} else {
					resp.Output = &pulumirpc.RunPluginResponse_Stdout{Stdout: chunk}
				}
				sendMu.Lock()
				_ = server.Send(resp)
				sendMu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(stdout, false)
	go pump(stderr, true)
	wg.Wait()
	code := 0
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = exitErr.ExitCode()
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// ---------- install / about / dependencies ----------

func packageManager(dir string, opts options) []string {
	switch opts.packagemanager {
	case "yarn":
		return []string{"yarn", "install"}
	case "pnpm":
		return []string{"pnpm", "install"}
	case "bun":
		return []string{"bun", "install"}
	case "npm":
		return []string{"npm", "install"}
	}
	if _, err := os.Stat(filepath.Join(dir, "yarn.lock")); err == nil {
		return []string{"yarn", "install"}
	}
	if _, err := os.Stat(filepath.Join(dir, "pnpm-lock.yaml")); err == nil {
		return []string{"pnpm", "install"}
	}
	return []string{"npm", "install", "--loglevel=error"}
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	//nolint:staticcheck
	dir := programDir(req.GetInfo(), req.GetDirectory())
	argv := packageManager(dir, parseOptions(req.GetInfo()))
	cmd := exec.CommandContext(server.Context(), argv[0], argv[1:]...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	pump := func(r io.Reader, isErr bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := append(sc.Bytes(), '\n')
			resp := &pulumirpc.InstallDependenciesResponse{}
			if isErr {
				resp.Stderr = append([]byte(nil), line...)
			} else {
				resp.Stdout = append([]byte(nil), line...)
			}
			sendMu.Lock()
			_ = server.Send(resp)
			sendMu.Unlock()
		}
	}
	wg.Add(2)
	go pump(stdout, false)
	go pump(stderr, true)
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s failed: %w", strings.Join(argv, " "), err)
	}
	return nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	//nolint:staticcheck
	dir := programDir(req.GetInfo(), req.GetPwd())
	pkg, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.DependencyInfo
	names := make([]string, 0, len(pkg.Dependencies))
	for n := range pkg.Dependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := pkg.Dependencies[n]
		if inst, err := readPackageJSON(filepath.Join(dir, "node_modules", n, "package.json")); err == nil {
			v = inst.Version
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: v})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// keep structpb imported for option parsing helpers across SDK versions
var _ = structpb.NewNullValue
