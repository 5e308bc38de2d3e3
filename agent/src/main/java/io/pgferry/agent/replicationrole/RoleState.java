package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * The replication role as the step leaves it: what it may read, and nothing else.
 *
 * @param tables the tables in scope plus their partitions, which a subscriber copying leaf by leaf reads
 * @param rowSecurity how the copy gets past row-level security: policy, bypassrls or none
 * @param bypassrls whether the role has BYPASSRLS (row_security: bypassrls, until the copy is proven)
 * @param copyPolicies the tables carrying the temporary copy policy {@code pgferry_<m>}
 */
public record RoleState(String name, List<String> schemas, List<TableRef> tables, List<TableRef> sequences,
                        String rowSecurity, boolean bypassrls, List<TableRef> copyPolicies) {
    /** The step's answer names it {@code role}. */
    public record Response(RoleState role) {
    }
}
