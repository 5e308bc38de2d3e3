package io.pgferry.agent.copy;

import java.util.List;

/**
 * A table's keys and indexes, as dump ids of the archive's post-data entries (each with its comments): the keys
 * first (primary key, replica identity: what the subscription needs), then the others. The others of a big table
 * are built in parallel, one task each; those of a partitioned table run in the archive's order, since attaching a
 * partition's index needs the parent's.
 *
 * @param keys dump ids of the key entries and their comments, in archive order
 * @param others one list of dump ids per task after the keys
 */
record IndexWork(List<Integer> keys, List<List<Integer>> others) {
    boolean isEmpty() {
        return keys.isEmpty() && others.isEmpty();
    }

    /** Index builds (statements sent) this table needs, for progress. */
    int tasks() {
        return (keys.isEmpty() ? 0 : 1) + others.size();
    }
}
