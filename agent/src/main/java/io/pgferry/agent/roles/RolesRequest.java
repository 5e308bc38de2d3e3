package io.pgferry.agent.roles;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Body of {@code PUT /v1/migrations/{m}/roles}.
 *
 * @param database the target database: a role used by any other database of the target counts as shared
 * @param roles what the source's {@code GET roles} answered (with verifiers)
 * @param roleMap source role to target role; roles not listed keep their names
 * @param allowRoleRights target roles that may have rights beyond their source role's (a superuser created, an
 *                        existing role with more attributes or memberships)
 * @param allowSharedRoles target roles that may also serve other databases of the target
 */
public record RolesRequest(String database, List<SourceRole> roles, Map<String, String> roleMap,
                           List<String> allowRoleRights, List<String> allowSharedRoles, Boolean check) {
    public RolesRequest {
        Names.require("database", database);
        if (roles == null) {
            throw new BadRequestException("roles", "roles is required: the answer of GET roles on the source");
        }
        roles = List.copyOf(roles);
        allowRoleRights = Names.requireAll("allow_role_rights", allowRoleRights);
        allowSharedRoles = Names.requireAll("allow_shared_roles", allowSharedRoles);
        check = check != null && check;
    }

    RoleMap map() {
        return RoleMap.of(roleMap);
    }

    Set<String> rights() {
        return new TreeSet<>(allowRoleRights);
    }

    Set<String> shared() {
        return new TreeSet<>(allowSharedRoles);
    }

    /** Never the verifiers. */
    @Override
    public String toString() {
        return "RolesRequest[database=" + database + ", roles=" + roles.size() + ", check=" + check + "]";
    }
}
