package io.pgferry.agent.copy;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.TargetArchive;
import io.pgferry.agent.schemaarchive.TargetCatalog;
import io.pgferry.agent.schemaarchive.TocEntry;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which archive entries the copy builds for each table: its primary key, unique and exclusion constraints, indexes
 * and (partitioned tables) their attachments, with their comments; only those the target lacks. Foreign keys,
 * checks, triggers and the rest stay for post-data, once every table is there.
 *
 * @param entries every entry to build, comments included, in the archive's order (the order pg_restore writes them)
 */
record IndexPlan(List<TocEntry> entries, Map<CopyUnit, IndexWork> work) {
    private static final Set<String> DESCS = Set.of("CONSTRAINT", "INDEX", "INDEX ATTACH");

    static IndexPlan of(Manifest manifest, List<CopyUnit> units, TargetCatalog target) throws SQLException {
        Map<TableRef, CopyUnit> byTable = new HashMap<>();
        for (CopyUnit u : units) {
            byTable.put(u.table, u);
            u.pieces.forEach(p -> byTable.putIfAbsent(p.relation(), u));
            u.partitioned.forEach(p -> byTable.putIfAbsent(p, u));
        }
        Map<Integer, CopyUnit> owner = new HashMap<>();
        List<TocEntry> chosen = new ArrayList<>();
        for (TocEntry e : manifest.section(TocEntry.POST_DATA)) {
            if (!DESCS.contains(e.desc()) || !TargetCatalog.checkable(e) || e.schema() == null || e.table() == null) {
                continue;
            }
            CopyUnit unit = byTable.get(new TableRef(e.schema(), e.table()));
            if (unit != null && !target.exists(e)) {
                owner.put(e.id(), unit);
                chosen.add(e);
            }
        }
        List<TocEntry> entries = TargetArchive.withComments(manifest, chosen);
        // Attaching a partition's index needs the parent's first: those tables' indexes run in archive order.
        Set<CopyUnit> ordered = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        chosen.stream().filter(e -> "INDEX ATTACH".equals(e.desc())).forEach(e -> ordered.add(owner.get(e.id())));
        Map<CopyUnit, List<TocEntry>> keys = new IdentityHashMap<>();
        Map<CopyUnit, List<List<TocEntry>>> others = new IdentityHashMap<>();
        Map<Integer, List<TocEntry>> groupOf = new HashMap<>();
        for (TocEntry e : entries) {
            if ("COMMENT".equals(e.desc())) {
                groupOf.get(e.commentOn()).add(e);
                continue;
            }
            CopyUnit unit = owner.get(e.id());
            List<TocEntry> group;
            if (e.keyForReplication()) {
                group = keys.computeIfAbsent(unit, u -> new ArrayList<>());
            } else {
                List<List<TocEntry>> tasks = others.computeIfAbsent(unit, u -> new ArrayList<>());
                if (tasks.isEmpty() || (unit.big() && !ordered.contains(unit))) {
                    tasks.add(new ArrayList<>());
                }
                group = tasks.get(tasks.size() - 1);
            }
            group.add(e);
            groupOf.put(e.id(), group);
        }
        Map<CopyUnit, IndexWork> work = new IdentityHashMap<>();
        for (CopyUnit u : units) {
            List<Integer> k = ids(keys.getOrDefault(u, List.of()));
            List<List<Integer>> o = others.getOrDefault(u, List.of()).stream().map(IndexPlan::ids).toList();
            if (!u.big() && !o.isEmpty()) {
                // A small table's keys and indexes go in one statement batch: one round trip for the table.
                List<Integer> all = new ArrayList<>(k);
                o.forEach(all::addAll);
                k = all;
                o = List.of();
            }
            work.put(u, new IndexWork(k, o));
        }
        return new IndexPlan(entries, work);
    }

    /** The same builds, with these keys built apart ({@link KeyIndex}); each is one table's. */
    IndexPlan keysApart(java.util.Collection<KeyIndex> keys) {
        // By dump id: one pass over the tables, not one per key (thousands of tables, each with a key).
        Map<Integer, CopyUnit> keyOwner = new HashMap<>();
        work.forEach((unit, w) -> w.keys().forEach(id -> keyOwner.put(id, unit)));
        Map<CopyUnit, IndexWork> apart = new IdentityHashMap<>(work);
        for (KeyIndex key : keys) {
            CopyUnit unit = keyOwner.get(key.id());
            if (unit != null) {
                apart.put(unit, apart.get(unit).keyApart(key));
            }
        }
        return new IndexPlan(entries, apart);
    }

    private static List<Integer> ids(List<TocEntry> entries) {
        return entries.stream().map(TocEntry::id).toList();
    }

    int tasks() {
        return work.values().stream().mapToInt(IndexWork::tasks).sum();
    }
}
