package io.pgferry.agent.preflight;

import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.roles.RolePlanner;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.TreeSet;

/**
 * The target side of the roles: the source's roles (its preflight's facts) compared with the target's through the
 * role map, with the very checks the roles step refuses on; and whether the subscription would run the source's
 * code as a superuser.
 */
final class TargetRoleChecks {
    private final Connection c;
    private final PreflightRequest request;
    private final Findings out;

    TargetRoleChecks(Connection c, PreflightRequest request, Findings out) {
        this.c = c;
        this.request = request;
        this.out = out;
    }

    void run(int major) throws SQLException {
        if (!request.privileges()) {
            return;
        }
        if (request.sourceRoles() == null) {
            out.note("source_roles not given: the roles the database needs were not compared with the target's");
        } else {
            RolePlanner.Result r = RolePlanner.plan(c, request.sourceRoles(), RoleMap.of(request.roleMap()),
                    new TreeSet<>(request.allowRoleRights()), new TreeSet<>(request.allowSharedRoles()),
                    request.database());
            for (RolePlanner.RoleFinding f : r.findings()) {
                out.add(f.code(), f.error(), f.objects(), f.message(), f.fix());
            }
            out.fact("roles_to_create", r.created());
            out.fact("roles_present", r.present());
        }
        applyCode(major);
        if (major >= 16 && !request.sourcePartitionRights().isEmpty()) {
            out.error("partition_rights_missing", request.sourcePartitionRights(), PartitionRights.why("on this "
                    + "target, the migration's own stream, once the source writes such a row"), PartitionRights.FIX);
        }
    }

    /**
     * Before 16 the apply worker runs as the subscription's owner (a superuser on 14 and 15) and evaluates index
     * expressions and generated columns of every row it applies (ALWAYS/REPLICA triggers are held tempered while it
     * applies: migration.ApplyTriggers); from 16 on it runs as each table's owner.
     */
    private void applyCode(int major) throws SQLException {
        List<String> code = request.sourceApplyCode();
        if (code.isEmpty() || major >= 16) {
            return;
        }
        boolean superuser;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")) {
            rs.next();
            superuser = rs.getBoolean(1);
        }
        if (superuser) {
            out.error("apply_runs_code_as_superuser", code, "the target runs PostgreSQL " + major + ", whose "
                    + "subscription applies every row as its owner, the agent's superuser role: these objects' code, "
                    + "owned by non-superusers on the source, would run with superuser rights during the migration",
                    "migrate to PostgreSQL 16 or newer (the apply then runs as each table's owner), or change these "
                    + "objects to call only PostgreSQL's functions");
        }
    }
}
