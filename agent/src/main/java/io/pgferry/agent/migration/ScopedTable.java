package io.pgferry.agent.migration;

/**
 * A table in scope, with what decides whether logical replication can carry its UPDATEs and DELETEs.
 *
 * @param kind {@code r} ordinary, {@code p} partitioned (published through its root)
 * @param replicaIdentity {@code d} default (the primary key), {@code f} full, {@code i} index, {@code n} nothing
 */
public record ScopedTable(TableRef table, char kind, boolean hasPrimaryKey, char replicaIdentity,
                          boolean unlogged) {
    /** Whether UPDATE and DELETE keep working on the source once the table is published. */
    public boolean hasReplicaIdentity() {
        return switch (replicaIdentity) {
            case 'f', 'i' -> true;
            case 'd' -> hasPrimaryKey;
            default -> false;
        };
    }
}
