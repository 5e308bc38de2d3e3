package io.pgferry.agent.copy;

import java.util.List;

/**
 * A table's keys and indexes, as dump ids of the archive's post-data entries (each with its comments): the keys
 * first (primary key, replica identity: what the subscription needs), then the others. The others of a big table
 * are built in parallel, one task each; those of a partitioned table run in the archive's order, since attaching a
 * partition's index needs the parent's.
 *
 * <p>A big table's primary key built apart ({@link KeyIndex}) turns this around: its index is one more task among
 * the others, and the keys run last, once no other build holds the table.
 *
 * @param keys dump ids of the key entries and their comments, in archive order
 * @param others one list of dump ids per task after the keys (or, keys last, before them)
 * @param keysLast the keys run after the others
 */
record IndexWork(List<Integer> keys, List<List<Integer>> others, boolean keysLast) {
    IndexWork(List<Integer> keys, List<List<Integer>> others) {
        this(keys, others, false);
    }

    /**
     * With the key built apart: as another task beside the others, attached last; where the table's builds are
     * one task anyway, the index first in it. Unchanged when the key is not this table's.
     */
    IndexWork keyApart(KeyIndex key) {
        if (!keys.contains(key.id())) {
            return this;
        }
        if (others.isEmpty()) {
            List<Integer> all = new java.util.ArrayList<>(List.of(key.buildId()));
            all.addAll(keys);
            return new IndexWork(all, others, false);
        }
        List<List<Integer>> tasks = new java.util.ArrayList<>(List.of(List.of(key.buildId())));
        tasks.addAll(others);
        return new IndexWork(keys, tasks, true);
    }

    boolean isEmpty() {
        return keys.isEmpty() && others.isEmpty();
    }

    /** Index builds (statements sent) this table needs, for progress. */
    int tasks() {
        return (keys.isEmpty() ? 0 : 1) + others.size();
    }
}
