package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopeResolver;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Creates or corrects the role {@code pgferry_<m>} the target's subscription logs in with. */
public final class ReplicationRoleService {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** pg_authid holds the password verifier and is readable by superusers only. */
    private static final String ROLE = """
            SELECT oid, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin, rolreplication,
                   rolvaliduntil IS NOT NULL, rolpassword
            FROM pg_authid WHERE rolname = ?""";
    /** Without superuser (a managed service): everything but the password, which is then always set again. */
    private static final String ROLE_WITHOUT_PASSWORD = """
            SELECT oid, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin, rolreplication,
                   rolvaliduntil IS NOT NULL, NULL
            FROM pg_roles WHERE rolname = ?""";

    private record ExistingRole(long oid, boolean superuser, boolean createdb, boolean createrole,
                                boolean bypassrls, boolean login, boolean replication, boolean expires,
                                String verifier) {
    }

    private final PgConnector connector;

    public ReplicationRoleService(PgConnector connector) {
        this.connector = connector;
    }

    public StepResult<RoleState.Response> apply(MigrationId migration, ReplicationRoleRequest request) {
        String role = migration.objectName();
        RowSecurityMode mode = request.mode();
        // The copy's extra access lasts while the copy runs; once the rows are proven it goes.
        boolean bypass = mode == RowSecurityMode.BYPASSRLS && !request.copied();
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, false)) {
            ResolvedScope scope = ScopeResolver.resolve(c, request.scope());
            RoleGrants.Wanted wanted = RoleGrants.wanted(c, scope);
            List<String> lacking = AgentRights.lacking(c, connector.serverVersion(c).major(), role, wanted);
            if (!lacking.isEmpty()) {
                throw ApiException.unprocessable("agent_lacks_rights", "the agent's role lacks what making the "
                        + "replication role takes: " + String.join("; ", lacking) + ". Nothing was changed. Fix: "
                        + AgentRights.fix(role), lacking);
            }
            Optional<ExistingRole> existing = read(c, role);
            if (bypass && !existing.map(ExistingRole::bypassrls).orElse(false)) {
                CopyAccess.requireMayGrantBypass(c, connector.serverVersion(c));
            }
            Plan plan = new Plan();
            planAttributes(plan, role, existing, request.password(), bypass);
            RoleGrants.plan(c, plan, role, existing.map(ExistingRole::oid).orElse(0L), wanted);
            List<TableRef> policies = CopyAccess.planPolicies(c, plan, role, scope.tableRefs(),
                    mode == RowSecurityMode.POLICY && !request.copied());
            if (!request.check()) {
                plan.runInTransaction(c);
            }
            RoleState state = new RoleState(role, wanted.schemas(), wanted.tables(), wanted.sequences(), mode.value(),
                    bypass, policies);
            return plan.result(request.check(), new RoleState.Response(state));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** @param bypass the role is to have BYPASSRLS (row_security: bypassrls, while the copy runs) */
    private static void planAttributes(Plan plan, String role, Optional<ExistingRole> existing, String password,
                                       boolean bypass) {
        String verifier = PasswordVerifier.newVerifier(password);
        String setPassword = " PASSWORD " + Sql.literal(verifier);
        String maskedPassword = " PASSWORD '" + StepResult.MASK + "'";
        if (existing.isEmpty()) {
            String create = "CREATE ROLE " + Sql.ident(role) + " WITH LOGIN REPLICATION" + (bypass ? " BYPASSRLS" : "");
            plan.addSecret(create + setPassword, create + maskedPassword);
            return;
        }
        ExistingRole r = existing.get();
        List<String> attributes = new ArrayList<>();
        // A login role for one purpose: anything that would let it do more than read and replicate goes.
        if (!r.login()) {
            attributes.add("LOGIN");
        }
        if (!r.replication()) {
            attributes.add("REPLICATION");
        }
        if (r.superuser()) {
            attributes.add("NOSUPERUSER");
        }
        if (r.createdb()) {
            attributes.add("NOCREATEDB");
        }
        if (r.createrole()) {
            attributes.add("NOCREATEROLE");
        }
        if (r.bypassrls() != bypass) {
            attributes.add(bypass ? "BYPASSRLS" : "NOBYPASSRLS");
        }
        if (r.expires()) {
            // An expired password would make the subscription fail to log in at some later, surprising time.
            attributes.add("VALID UNTIL 'infinity'");
        }
        if (!attributes.isEmpty()) {
            plan.add("ALTER ROLE " + Sql.ident(role) + " WITH " + String.join(" ", attributes));
        }
        if (!PasswordVerifier.matches(r.verifier(), role, password)) {
            String alter = "ALTER ROLE " + Sql.ident(role) + " WITH";
            plan.addSecret(alter + setPassword, alter + maskedPassword);
        }
    }

    private static Optional<ExistingRole> read(Connection c, String role) throws SQLException {
        try {
            return read(c, ROLE, role);
        } catch (SQLException e) {
            if (!"42501".equals(e.getSQLState())) {
                throw e;
            }
            return read(c, ROLE_WITHOUT_PASSWORD, role);
        }
    }

    private static Optional<ExistingRole> read(Connection c, String sql, String role) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, role);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new ExistingRole(rs.getLong(1), rs.getBoolean(2), rs.getBoolean(3),
                        rs.getBoolean(4), rs.getBoolean(5), rs.getBoolean(6), rs.getBoolean(7), rs.getBoolean(8),
                        rs.getString(9)));
            }
        }
    }
}
