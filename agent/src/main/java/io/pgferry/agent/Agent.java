package io.pgferry.agent;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.health.HealthController;
import io.pgferry.agent.health.HealthService;
import io.pgferry.agent.http.AgentServer;
import io.pgferry.agent.info.InfoController;
import io.pgferry.agent.info.InfoService;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgTools;
import io.pgferry.agent.postgres.PgToolsException;
import io.pgferry.agent.postgres.PgToolsResolver;
import io.pgferry.agent.postgres.PostgresUnavailableException;
import io.pgferry.agent.postgres.ServerVersion;
import java.io.IOException;
import io.pgferry.agent.state.StateFiles;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the agent together and runs it; used by the serve command and by tests alike. */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentServer server;

    private Agent(AgentServer server) {
        this.server = server;
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
        PgConnector connector = new PgConnector(config.postgres());
        InfoService info = new InfoService(connector, new PgToolsResolver(config.pgBinDir(), searchPath));
        try (Connection c = connector.open(Duration.ofSeconds(5))) {
            ServerVersion version = connector.serverVersion(c);
            PgTools tools = info.tools(version.major());
            LOG.info("PostgreSQL {} at {}; pg_dump {} in {} ({})", version.version(), connector.target(),
                    tools.pgDumpVersion(), tools.binDir(), tools.source());
        } catch (PostgresUnavailableException | SQLException e) {
            LOG.warn("PostgreSQL at {} is not reachable yet; starting anyway", connector.target());
        }
        AgentServer server = AgentServer.start(config, new HealthController(new HealthService(connector)),
                new InfoController(info), Features.all(config, connector, info));
        LOG.info("pgferry-agent {} listening on {}://{}:{}", AgentVersion.get(),
                config.tls().isPresent() ? "https" : "http", config.listenAddress(), server.port());
        return new Agent(server);
    }

    public int port() {
        return server.port();
    }

    /** Every route the API serves, as "METHOD path". */
    public java.util.List<String> routes() {
        return server.routes();
    }

    @Override
    public void close() {
        server.stop();
    }
}
