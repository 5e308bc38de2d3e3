package io.pgferry.agent.privilegeset;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Source role name to target role name, for consolidations: two databases that both use {@code app} land on one
 * instance as {@code shop_app} and {@code blog_app}. A role not in the map keeps its name. Predefined roles
 * ({@code pg_*}) and pgferry's own ({@code pgferry_<m>}) are never mapped.
 */
public record RoleMap(Map<String, String> map) {
    public static final RoleMap IDENTITY = new RoleMap(Map.of());
    /** The role names pgferry makes for itself ({@code pgferry_<migration id>}): never moved, never compared. */
    private static final Pattern PGFERRY = Pattern.compile("pgferry_[a-z][a-z0-9_]{0,39}");
    /** Names the grammar takes as keywords where a role is expected (GRANT .. TO public, CURRENT_USER, ...). */
    private static final Set<String> RESERVED = Set.of("public", "none", "current_role", "current_user",
            "session_user");

    public RoleMap {
        Map<String, String> copy = new TreeMap<>();
        if (map != null) {
            for (Map.Entry<String, String> e : map.entrySet()) {
                String from = check("role_map", e.getKey());
                String to = check("role_map." + e.getKey(), e.getValue());
                copy.put(from, to);
            }
        }
        map = Map.copyOf(copy);
    }

    public static RoleMap of(Map<String, String> map) {
        return map == null ? IDENTITY : new RoleMap(map);
    }

    /** The target's name for a source role; null (PUBLIC) stays null. */
    public String target(String source) {
        return source == null ? null : map.getOrDefault(source, source);
    }

    public boolean isIdentity() {
        return map.entrySet().stream().allMatch(e -> e.getKey().equals(e.getValue()));
    }

    /** Roles pgferry creates for a migration and predefined roles: not the application's. */
    public static boolean ignored(String role) {
        return role != null && PGFERRY.matcher(role).matches();
    }

    public static boolean predefined(String role) {
        return role != null && role.startsWith("pg_");
    }

    private static String check(String field, String role) {
        Names.require(field, role);
        if (predefined(role) || ignored(role) || RESERVED.contains(role)) {
            throw new BadRequestException(field, "role " + role + " cannot be mapped: pg_* roles are "
                    + "PostgreSQL's, pgferry_* roles are pgferry's own, and " + RESERVED + " are keywords");
        }
        return role;
    }
}
