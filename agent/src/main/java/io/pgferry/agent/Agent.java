package io.pgferry.agent;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.health.HealthController;
import io.pgferry.agent.health.HealthService;
import io.pgferry.agent.http.AgentServer;
import io.pgferry.agent.http.ProblemMapper;
import io.pgferry.agent.info.InfoController;
import io.pgferry.agent.info.InfoService;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgTools;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.postgres.PgToolsException;
import io.pgferry.agent.postgres.PgToolsResolver;
import io.pgferry.agent.postgres.ServerVersion;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.metrics.AgentMetrics;
import io.pgferry.agent.metrics.MetricsController;
import io.pgferry.agent.openapi.OpenApiController;
import java.io.IOException;
import io.pgferry.agent.state.StateFiles;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the agent together and runs it; used by the serve command and by tests alike. */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentServer server;
    private final JobRunner jobs;
    private final PgProcess tools;

    private Agent(AgentServer server, JobRunner jobs, PgProcess tools) {
        this.server = server;
        this.jobs = jobs;
        this.tools = tools;
    }

    /**
     * Prepares the state directory, checks pg_dump against the server when the server is up (failing fast on a
     * misconfigured pg_bin_dir), then starts the HTTP API. A server that is down at start is not an error:
     * the agent starts anyway, /v1/health says 503 until it is up.
     *
     * @param searchPath the PATH in which to look for pg_dump when pg_bin_dir is not set
     */
    public static Agent start(AgentConfig config, String searchPath) throws IOException, PgToolsException {
        StateFiles.directory(config.stateDir());
        PgProcess.removeLeftoverFiles(config.stateDir());
        PgConnector connector = new PgConnector(config.postgres());
        PgToolsCache pgTools = new PgToolsCache(new PgToolsResolver(config.pgBinDir(), searchPath));
        InfoService info = new InfoService(connector, pgTools);
        // The health probe is the start check: the first /v1/health answers from it instead of logging in again.
        HealthService health = new HealthService(connector);
        HealthService.Probe probe = health.current();
        if (probe.up()) {
            ServerVersion version = probe.version();
            PgTools tools = pgTools.tools(version.major());
            LOG.info("PostgreSQL {} at {}; pg_dump {} in {} ({})", version.version(), connector.target(),
                    tools.pgDumpVersion(), tools.binDir(), tools.source());
        } else {
            LOG.warn("PostgreSQL at {} is not reachable yet; starting anyway", connector.target());
        }
        AgentMetrics metrics = new AgentMetrics();
        JobRunner jobs = new JobRunner(ProblemMapper::known, metrics::jobFinished);
        metrics.watch(connector, config.stateDir(), jobs::views);
        PgProcess tools = new PgProcess(config.postgres(), config.stateDir(), JobRunner::currentJob);
        List<RouteGroup> routes = new ArrayList<>(List.of(new HealthController(health),
                new InfoController(info)));
        routes.addAll(Features.all(config, connector, pgTools, jobs, tools));
        routes.add(new MetricsController(metrics, config.metricsAuth()));
        routes.add(new OpenApiController());
        AgentServer server = AgentServer.start(config, routes, metrics::request);
        LOG.info("pgferry-agent {} listening on {}://{}:{}", AgentVersion.get(),
                config.tls().isPresent() ? "https" : "http", config.listenAddress(), server.port());
        return new Agent(server, jobs, tools);
    }

    public int port() {
        return server.port();
    }

    /** Every route the API serves, as "METHOD path". */
    public java.util.List<String> routes() {
        return server.routes();
    }

    /**
     * Stops the tools first (pg_restore and pg_dump with every process under them, their sessions ended), then lets
     * the running job unwind and remove its temporary files, then the HTTP server: nothing the agent started
     * outlives it (docs/agent.md, "Stopping").
     */
    @Override
    public void close() {
        tools.close();
        jobs.close();
        server.stop();
    }
}
