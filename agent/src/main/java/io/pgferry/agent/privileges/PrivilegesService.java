package io.pgferry.agent.privileges;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.privilegeset.PrivilegeCatalog;
import io.pgferry.agent.privilegeset.PrivilegePlanner;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Either side reads its privileges for the migration's scope (the schemas of its manifest); the target makes its own
 * equal to the source's, through the role map, in one transaction.
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
        // Writable even on a fenced target (after a rollback): privileges are no client write.
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            c.setAutoCommit(false);
            try {
                PrivilegePlanner.Result plan = PrivilegePlanner.plan(c, request.source(), request.map());
                if (!request.check() && !plan.statements().isEmpty()) {
                    PrivilegePlanner.execute(c, plan.statements());
                    c.commit();
                }
                PrivilegesState state = new PrivilegesState(request.source().objects().size(), plan.equal(),
                        plan.differences(), plan.missing(), plan.notes());
                return new StepResult<>(!plan.statements().isEmpty(), request.check(), plan.statements(),
                        new PrivilegesState.Response(state));
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

}
