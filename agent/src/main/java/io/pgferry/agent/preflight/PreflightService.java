package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.ServerVersion;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;

/**
 * Checks, before anything changes, what would make a migration fail or lose data, on one side. Read-only: its
 * connections are read-only sessions, and it never creates, alters or drops anything.
 */
public final class PreflightService {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Set<String> LOCAL_HOSTS = Set.of("127.0.0.1", "::1", "localhost");

    private final PgConnector connector;
    private final java.util.function.BiPredicate<MigrationId, String> copyStarted;

    public PreflightService(PgConnector connector) {
        this(connector, (migration, database) -> false);
    }

    /** @param copyStarted whether a copy of the migration into the database started and did not finish */
    public PreflightService(PgConnector connector, java.util.function.BiPredicate<MigrationId, String> copyStarted) {
        this.connector = connector;
        this.copyStarted = copyStarted;
    }

    public PreflightResult run(MigrationId migration, PreflightRequest request) {
        Findings out = new Findings();
        String name = migration.objectName();
        try {
            if (request.side().equals(PreflightRequest.SOURCE)) {
                try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
                    ServerVersion version = begin(c, out);
                    new SourceChecks(c, migration, request, out).run(version);
                    new WalChecks(c, out, local()).run();
                }
            } else {
                boolean exists;
                try (Connection c = connector.open(TIMEOUT)) {
                    exists = databaseExists(c, request.database());
                }
                try (Connection c = exists ? Steps.open(connector, request.database(), TIMEOUT, true)
                        : connector.open(TIMEOUT)) {
                    out.fact("database_exists", exists);
                    ServerVersion version = begin(c, out);
                    String read = exists ? request.database() : connector.config().database() + " (the target "
                            + "database does not exist yet)";
                    new TargetChecks(c, migration, request, out, exists, local(), read)
                            .copyStarted(copyStarted.test(migration, request.database())).run(version);
                }
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        return out.result(request.side());
    }

    private ServerVersion begin(Connection c, Findings out) throws SQLException {
        Catalog.readOnly(c);
        ServerVersion version = connector.serverVersion(c);
        out.fact("server_version", version.version());
        out.fact("major", version.major());
        return version;
    }

    private static boolean databaseExists(Connection c, String database) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "SELECT 1 FROM pg_database WHERE datname = ? AND datallowconn")) {
            st.setString(1, database);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Whether the agent's PostgreSQL is on this host, so its data directory's disk can be measured here. */
    private boolean local() {
        var config = connector.config();
        return config.viaUnixSocket() || LOCAL_HOSTS.contains(config.host());
    }
}
