package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code PUT /v1/migrations/{m}/replication-role}.
 *
 * @param password the password the target's subscription will log in with; never stored by the agent
 * @param rowSecurity {@code policy} (default), {@code bypassrls} or {@code none}: how the initial copy reads tables
 *                    whose row-level security would hide rows from the role ({@link RowSecurityMode})
 * @param copied true once every table is copied and its rows proven: the copy's extra access (copy policies,
 *               BYPASSRLS) is taken back, the grants stay
 */
public record ReplicationRoleRequest(String database, String password, List<String> includeSchemas,
                                     List<String> excludeSchemas, List<TableRef> includeTables,
                                     List<TableRef> excludeTables, String rowSecurity, Boolean copied,
                                     Boolean check) {
    /** Generous for generated passwords, small enough to keep the statement and the verifier cheap. */
    static final int MAX_PASSWORD_CHARS = 1000;

    public ReplicationRoleRequest {
        Names.require("database", database);
        if (password == null || password.isEmpty()) {
            throw new BadRequestException("password", "password is required and must not be empty");
        }
        if (password.length() > MAX_PASSWORD_CHARS) {
            throw new BadRequestException("password", "password must be at most " + MAX_PASSWORD_CHARS
                    + " characters");
        }
        if (password.indexOf('\0') >= 0) {
            throw new BadRequestException("password", "password must not contain a NUL character");
        }
        RowSecurityMode.parse("row_security", rowSecurity);
        copied = copied != null && copied;
        check = check != null && check;
    }

    RowSecurityMode mode() {
        return RowSecurityMode.parse("row_security", rowSecurity);
    }

    Scope scope() {
        return new Scope(includeSchemas, excludeSchemas, includeTables, excludeTables);
    }

    /** Never the password: records print every component by default. */
    @Override
    public String toString() {
        return "ReplicationRoleRequest[database=" + database + ", scope=" + scope() + ", row_security="
                + mode().value() + ", copied=" + copied + ", check=" + check + "]";
    }
}
