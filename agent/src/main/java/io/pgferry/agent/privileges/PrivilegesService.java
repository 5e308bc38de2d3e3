package io.pgferry.agent.privileges;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.Deadlocks;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.privilegeset.PrivilegeCatalog;
import io.pgferry.agent.privilegeset.PrivilegePlanner;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.subscription.SourceConnection;
import io.pgferry.agent.subscription.SourceSession;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

/**
 * Either side reads its privileges for the migration's scope (the schemas of its manifest); the target makes its own
 * equal to the source's, through the role map, in one transaction. The target may read the source's itself, over the
 * subscription's connection: every catalog read is open to any role, and the manifest both sides hold is the same.
 */
public final class PrivilegesService {
    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private final PgConnector connector;
    private final ManifestScopes scopes;

    public PrivilegesService(PgConnector connector, ManifestScopes scopes) {
        this.connector = connector;
        this.scopes = scopes;
    }

    public PrivilegeSet read(MigrationId migration, String database) {
        ManifestScope scope = scopes.read(migration);
        try (Connection c = Steps.open(connector, database, TIMEOUT, true)) {
            return PrivilegeCatalog.read(c, connector.serverVersion(c).major(), scope.schemas(),
                    scope.excludedTables());
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    public StepResult<PrivilegesState.Response> apply(MigrationId migration, PrivilegesRequest request) {
        PrivilegeSet source = request.source() != null ? request.source()
                : readSource(scopes.read(migration), request.connection());
        for (int attempt = 1; ; attempt++) {
            try {
                return apply(request, source);
            } catch (SQLException e) {
                // A new owner locks its table as the apply worker's transactions do theirs (Deadlocks): planned again.
                if (attempt == Deadlocks.ATTEMPTS || !Deadlocks.in(e)) {
                    throw connector.translate(e);
                }
            }
            Deadlocks.pause(attempt);
        }
    }

    /** One attempt, in one transaction: all of it or none. */
    private StepResult<PrivilegesState.Response> apply(PrivilegesRequest request, PrivilegeSet source)
            throws SQLException {
        // Writable even on a fenced target (after a rollback): privileges are no client write.
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            c.setAutoCommit(false);
            try {
                PrivilegePlanner.Result plan = PrivilegePlanner.plan(c, source, request.map());
                if (!request.check() && !plan.statements().isEmpty()) {
                    PrivilegePlanner.execute(c, plan.statements());
                    c.commit();
                    connector.forgetSessions();  // a database's or role's settings may have changed
                }
                PrivilegesState state = new PrivilegesState(source.objects().size(), plan.equal(),
                        plan.differences(), plan.missing(), plan.notes());
                return new StepResult<>(!plan.statements().isEmpty(), request.check(), plan.statements(),
                        new PrivilegesState.Response(state));
            } finally {
                c.rollback();
            }
        }
    }

    /** The source's privileges as its own agent's GET answers them, read from here. */
    private static PrivilegeSet readSource(ManifestScope scope, SourceConnection source) {
        try (Connection c = SourceSession.open(source, "pgferry_privileges")) {
            c.setReadOnly(true);
            int major;
            try (var st = c.createStatement();
                 var rs = st.executeQuery("SELECT current_setting('server_version_num')::int / 10000")) {
                rs.next();
                major = rs.getInt(1);
            }
            return PrivilegeCatalog.read(c, major, scope.schemas(), scope.excludedTables());
        } catch (SQLException e) {
            throw new ApiException(502, "source_error", "The source refused reading its privileges",
                    "the target agent could not read the privileges on the source " + source.host() + ":"
                    + source.port() + "/" + source.dbname() + " as " + source.user() + ": "
                    + SourceSession.mask(source, SourceSession.reason(e)) + "; the role needs only to connect and "
                    + "read the catalogs, which any role may", null, List.of(), e);
        }
    }
}
