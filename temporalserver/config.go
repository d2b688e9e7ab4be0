package temporalserver

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"go.temporal.io/server/chasm/lib/activity"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
)

// serverAddrs are the listen addresses of one server run. Only the frontend
// (gRPC and HTTP) binds on the configured IP; history, matching and worker
// bind on loopback and get fresh ports on every start (nothing persists them).
type serverAddrs struct {
	bindIP       string // frontend bind IP (may be 0.0.0.0 / ::)
	dialHost     string // how this process reaches the frontend
	frontendPort int
	httpPort     int
	historyPort  int
	matchingPort int
	workerPort   int
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func serverOptions(a serverAddrs, sqlConf, visConf *config.SQL, shards int32, logger log.Logger) ([]temporal.ServerOption, error) {
	conf := serverConfig(a, sqlConf, visConf, shards)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: claim mapper: %w", err)
	}
	return []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		// Static membership: no ringpop gossip, each service is at a known address.
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(hostPort(a.dialHost, a.frontendPort)),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(loopback, a.historyPort)),
			primitives.MatchingService: static.SingleLocalHost(hostPort(loopback, a.matchingPort)),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(loopback, a.workerPort)),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	}, nil
}

func serverConfig(a serverAddrs, sqlConf, visConf *config.SQL, shards int32) *config.Config {
	// Names of the config's datastores only (nothing persists them): "sqlite-default" and
	// "sqlite-visibility" for the embedded files, as before SQL persistence was an option.
	store, visStore := sqlConf.PluginName+"-default", visConf.PluginName+"-visibility"
	var conf config.Config

	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = loopback

	conf.Persistence.DefaultStore = store
	conf.Persistence.VisibilityStore = visStore // its own file and connection (see visFileName)
	conf.Persistence.NumHistoryShards = shards
	conf.Persistence.DataStores = map[string]config.DataStore{store: {SQL: sqlConf}, visStore: {SQL: visConf}}

	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             hostPort(a.dialHost, a.frontendPort),
				HTTPAddress:            hostPort(a.dialHost, a.httpPort),
				// ClusterID left empty: the server generates one on first
				// start and keeps the persisted one afterwards.
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"

	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{
			GRPCPort: a.frontendPort,
			HTTPPort: a.httpPort,
			BindOnIP: a.bindIP,
		}},
		string(primitives.HistoryService):  {RPC: config.RPC{GRPCPort: a.historyPort, BindOnIP: loopback}},
		string(primitives.MatchingService): {RPC: config.RPC{GRPCPort: a.matchingPort, BindOnIP: loopback}},
		string(primitives.WorkerService):   {RPC: config.RPC{GRPCPort: a.workerPort, BindOnIP: loopback}},
	}

	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"

	// The worker service's own SDK client (scheduler, batcher, ...) dials this.
	conf.PublicClient.HostPort = hostPort(a.dialHost, a.frontendPort)
	return &conf
}

// dynamicConfig mirrors the CLI dev server's settings that still matter on a
// v1.32.0 server. (The dev server also forces history.enableChasm and
// activity.enableStandalone on; both already default to true in v1.32.0.)
func dynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// The dev server re-reads the search attributes from the database on every use, so that
		// one added with `temporal operator search-attribute create` works at once. That read was
		// 4% of the CPU of a burst of starts (docs/benchmarks.md, workload 4). Here the cache
		// holds them (a minute's refresh); jiaofu's own attributes are in place from the first
		// start, and the start that adds new ones waits until they are usable
		// (reconcileNamespace). Nexus endpoints change rarely and cost nothing when unused.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): false,
		dynamicconfig.ForceNexusEndpointRefreshOnRead.Key():         true,
		// With those caches bypassed, raise the persistence rate limits so the
		// extra reads are not throttled (the dev server's numbers).
		dynamicconfig.FrontendPersistenceMaxQPS.Key(): 10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():  45000,
		// Smaller mutable-state cache than the 128k default (the dev server keeps 8096): one small
		// process whose workflows are mostly long-running and idle. A workflow that fell out of
		// the cache is read back from SQLite on its next event. With 10,000 open cases, 8096
		// cached mutable states were a large part of the heap; at 2,048 the history service still
		// held 44 MB live (about 20 KB a cached case). 512, with the SDK's sticky cache at 256 and
		// the all-in-one GC pacing, brought 10,000 open cases from 34 to 13–14 KiB each, and
		// a task's round trip was no slower (docs/benchmarks.md, workloads 6 and 3).
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 512,
		// One history shard (numHistoryShards) means one transfer queue and one timer queue for
		// every workflow, and each reads its tasks from SQLite at most 20 times a second by
		// default: every workflow-task and activity dispatch waited up to 50 ms for the next read
		// (an Update that runs one activity took 49 ms p50 on an idle server, 8 ms with 200). A
		// cluster spreads the same limit over hundreds of shards; here the one shard gets the
		// reads instead. Reads happen only when tasks are waiting, so an idle server does not
		// poll more (docs/benchmarks.md, workloads 1–3 and 7).
		dynamicconfig.TransferProcessorMaxPollRPS.Key(): 200,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():    200,
		// Rate limits meant to share a cluster's hosts fairly: here one process is every host, and
		// at a few hundred workflow starts a second the matching service's 1,200 requests a second
		// (task adds from history plus the workers' polls) ran out. History then backed off
		// re-sending the refused tasks and a burst's first workflow tasks sat in the queue for
		// over ten seconds while both cores were idle (docs/benchmarks.md, workload 7). The
		// limits stay, well above what two cores can serve.
		dynamicconfig.MatchingRPS.Key(): 20000,
		dynamicconfig.HistoryRPS.Key():  20000,
		// The UI lists and counts workflows a lot; default is 10 RPS.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Standalone activity operator and batch commands (off by default in
		// v1.32.0; the dev server and its UI enable them).
		activity.EnableStandaloneActivityOperatorCommands.Key():                  true,
		dynamicconfig.FrontendEnableBatchOperationsForStandaloneActivities.Key(): true,
	}
}
