package io.pgferry.agent.roles;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.privilegeset.PrivilegeCatalog;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

/**
 * Source: the roles the migration's database needs, with their SCRAM verifiers. Target: those roles created where
 * missing, with their memberships, in one transaction; existing roles compared and never altered.
 */
public final class RolesService {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private final PgConnector connector;
    private final ManifestScopes scopes;

    public RolesService(PgConnector connector, ManifestScopes scopes) {
        this.connector = connector;
        this.scopes = scopes;
    }

    public RolesState.SourceRoles read(MigrationId migration, String database) {
        ManifestScope scope = scopes.read(migration);
        try (Connection c = Steps.open(connector, database, TIMEOUT, true)) {
            int major = connector.serverVersion(c).major();
            PrivilegeSet set = PrivilegeCatalog.read(c, major, scope.schemas(), scope.excludedTables());
            RoleCatalog.Result r = RoleCatalog.read(c, major, set, true);
            return new RolesState.SourceRoles(major, r.passwordsRead(), r.roles());
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** @throws ApiException 422 {@code role_conflicts} with every error finding, before anything changes */
    public StepResult<RolesState.Response> apply(MigrationId migration, RolesRequest request) {
        // Roles are cluster-wide: the statements run from the agent's own database.
        try (Connection c = connector.open(connector.config().database(), TIMEOUT, false)) {
            RolePlanner.Result r = RolePlanner.plan(c, request.roles(), request.map(), request.rights(),
                    request.shared(), request.database());
            List<RolePlanner.RoleFinding> errors = r.errors();
            if (!errors.isEmpty()) {
                throw ApiException.unprocessable("role_conflicts", String.join("; ", errors.stream()
                        .map(f -> f.code() + ": " + f.message() + " (" + String.join(", ", f.objects()) + "); fix: "
                                + f.fix()).toList()), errors.stream().flatMap(f -> f.objects().stream()).toList());
            }
            if (!request.check()) {
                r.plan().runInTransaction(c);
                if (!r.plan().isEmpty()) {
                    connector.forgetSessions();  // the agent's own role may be among those whose settings changed
                }
            }
            List<RolePlanner.RoleFinding> warnings = r.findings().stream().filter(f -> !f.error()).toList();
            RolesState state = new RolesState(request.roles().size(), r.created(), r.present(), r.grants(),
                    r.passwordsNotMoved(), warnings);
            return r.plan().result(request.check(), new RolesState.Response(state));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
