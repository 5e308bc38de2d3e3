package io.pgferry.agent.roles;

import java.util.List;

/**
 * The roles step's answer, in {@code roles}.
 *
 * @param created roles created (with check: to create), by their target name
 * @param present roles that existed and were compared, not changed
 * @param memberships memberships granted, as {@code member in group}
 * @param passwordsNotMoved roles created without their source password, each with what to do
 * @param warnings findings that do not stop the step (docs/findings.md)
 */
public record RolesState(int needed, List<String> created, List<String> present, List<String> memberships,
                         List<String> passwordsNotMoved, List<RolePlanner.RoleFinding> warnings) {
    public record Response(RolesState roles) {
    }

    /** The source's {@code GET roles} answer. */
    public record SourceRoles(int serverMajor, boolean passwordsRead, List<SourceRole> roles) {
    }
}
