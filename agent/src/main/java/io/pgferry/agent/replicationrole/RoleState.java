package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * The replication role as the step leaves it: what it may read, and nothing else.
 *
 * @param tables the tables in scope plus their partitions, which a subscriber copying leaf by leaf reads
 */
public record RoleState(String name, List<String> schemas, List<TableRef> tables, List<TableRef> sequences) {
    /** The step's answer names it {@code role}. */
    public record Response(RoleState role) {
    }
}
