package io.pgferry.agent.schemaapply;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.privileges.RoleMap;
import java.util.Map;

/**
 * Body of {@code POST /v1/migrations/{m}/schema-apply}.
 *
 * @param check absent means false
 * @param privileges absent means true: the restored objects get the source's owners and privileges (through
 *                   {@code role_map}) in the same transaction; false leaves them to the agent's role, ungranted
 * @param roleMap source role to target role; roles not listed keep their names
 */
public record ApplyRequest(String database, Boolean check, Boolean privileges, Map<String, String> roleMap) {
    public ApplyRequest {
        check = check != null && check;
        privileges = privileges == null || privileges;
        Names.require("database", database);
        roleMap = RoleMap.of(roleMap).map();
    }

    RoleMap map() {
        return RoleMap.of(roleMap);
    }
}
