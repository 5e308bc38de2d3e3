package io.pgferry.agent.privilegeset;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A row-level security policy of a table in scope: the roles it applies to, and its definition, deparsed with an
 * empty search_path (every name qualified) so the target can create it with mapped roles when the archive's own
 * text would name the source's roles.
 *
 * @param roles role names; null stands for PUBLIC
 * @param command {@code r} SELECT, {@code a} INSERT, {@code w} UPDATE, {@code d} DELETE, {@code *} ALL
 */
public record PolicyRoles(String schema, String table, String name, List<String> roles, boolean permissive,
                          String command, String using, String withCheck) {
    public PolicyRoles {
        roles = roles == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(roles));
    }
}
