package io.pgferry.agent.schemaapply;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.privilegeset.RoleMap;
import java.util.Map;

/**
 * Body of {@code POST /v1/migrations/{m}/schema-apply}.
 *
 * @param check absent means false
 * @param privileges absent means true: the restored objects get the source's owners and privileges (through
 *                   {@code role_map}) in the same transaction; false leaves them to the agent's role, ungranted
 * @param roleMap source role to target role; roles not listed keep their names
 * @param keys absent means true: primary keys and replica-identity indexes go in with the schema, before native
 *             table sync copies into them; false leaves them to pgferry's own copy, which builds them after each
 *             table's rows (faster than maintaining them row by row)
 */
public record ApplyRequest(String database, Boolean check, Boolean privileges, Map<String, String> roleMap,
                           Boolean keys) {
    public ApplyRequest {
        check = check != null && check;
        privileges = privileges == null || privileges;
        keys = keys == null || keys;
        Names.require("database", database);
        roleMap = RoleMap.of(roleMap).map();
    }

    RoleMap map() {
        return RoleMap.of(roleMap);
    }
}
