package io.pgferry.agent.copy;

import io.pgferry.agent.config.CopyLimits;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.jobs.ProgressSink;
import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.TargetTables;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.problem.Problem;
import io.pgferry.agent.schemaarchive.Manifest;
import io.pgferry.agent.schemaarchive.Restore;
import io.pgferry.agent.schemaarchive.TargetArchive;
import io.pgferry.agent.schemaarchive.TargetCatalog;
import io.pgferry.agent.schemaarchive.TocEntry;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.subscription.SourceSession;
import io.pgferry.agent.subscription.SubscriptionRequest;
import io.pgferry.agent.subscription.SubscriptionService;
import io.pgferry.agent.subscription.SubscriptionState;
import io.pgferry.agent.syncstatus.SyncStatus;
import io.pgferry.agent.syncstatus.SyncStatusService;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pgferry's own initial copy, on the target agent: the slot is created with an exported snapshot, every table is
 * copied inside that snapshot by a few parallel sessions (big tables in ctid ranges, small ones back to back), each
 * table's keys and indexes are built as soon as its rows are committed, and the subscription is then created on
 * that slot without a copy of its own, so streaming starts exactly where the snapshot was taken.
 *
 * <p>A rerun reads what is there before doing anything (docs/design.md, "Own initial copy"): a subscription means
 * the copy is over; a finished copy whose slot is untouched only gets its subscription; anything else this copy
 * started (its state file says so) is thrown away — slot dropped, its tables emptied — and copied again under a new
 * slot, since the old snapshot died with its connection. Rows or a slot it cannot prove are its own are refused.
 */
public final class CopyService implements SyncStatusService.OwnCopies {
    public static final String STEP = "copy";
    private static final Logger LOG = LoggerFactory.getLogger(CopyService.class);
    /** Copies and index builds of big tables take hours; the job, not the client, waits for them. */
    private static final Duration TIMEOUT = Duration.ofHours(48);
    private static final String SLOT = """
            SELECT active, database, plugin, slot_type, confirmed_flush_lsn::text FROM pg_replication_slots
            WHERE slot_name = ?""";
    private static final String SUBSCRIPTION = """
            SELECT 1 FROM pg_subscription WHERE subname = ?
              AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())""";
    private static final String ENCODING = """
            SELECT pg_encoding_to_char(encoding), current_setting('server_version_num')::int / 10000
            FROM pg_database WHERE datname = current_database()""";

    /** What a rerun finds and does; {@code truncate} lists tables this copy wrote before. */
    private record Decision(String outcome, boolean dropSlot, List<TableRef> truncate) {
    }

    private record Slot(boolean active, String database, String plugin, String type, String confirmedFlush) {
    }

    private final PgConnector connector;
    private final PgToolsCache pgTools;
    private final PgProcess process;
    private final JobRunner jobs;
    private final Path stateDir;
    private final CopyLimits limits;
    private final SubscriptionService subscriptions;
    private final Map<String, LiveCopy> live = new ConcurrentHashMap<>();

    public CopyService(PgConnector connector, PgToolsCache pgTools, PgProcess process, JobRunner jobs, Path stateDir,
                       CopyLimits limits, SubscriptionService subscriptions) {
        this.connector = connector;
        this.pgTools = pgTools;
        this.process = process;
        this.jobs = jobs;
        this.stateDir = stateDir;
        this.limits = limits;
        this.subscriptions = subscriptions;
    }

    /** Refuses at once what can be refused (caps, no archive, no database), then starts the job. */
    public JobView start(MigrationId migration, CopyRequest request) {
        limit(request);
        TargetArchive.load(stateDir, migration);
        DatabaseCheck.require(connector, request.database());
        // Shown by GET copy from now on, not only once the job's thread picks it up.
        LiveCopy copy = new LiveCopy(request.database());
        boolean mine = live.putIfAbsent(migration.value(), copy) == null;
        try {
            return jobs.submit(STEP, migration, request, progress -> run(migration, request, progress));
        } catch (RuntimeException e) {
            if (mine) {
                live.remove(migration.value(), copy);
            }
            throw e;
        }
    }

    /** Check mode: what a run would do now, read from both sides; changes nothing. */
    public CopyResult check(MigrationId migration, CopyRequest request) {
        limit(request);
        Manifest manifest = TargetArchive.load(stateDir, migration).manifest();
        String database = DatabaseCheck.require(connector, request.database());
        String name = migration.objectName();
        try (Connection target = connector.open(database, Duration.ofMinutes(5), true)) {
            Optional<CopyState> state = CopyState.load(stateDir, migration);
            if (exists(target, SUBSCRIPTION, name)) {
                return unchanged(state, name);
            }
            try (Connection source = SourceSession.open(request.connection(), "pgferry_copy")) {
                requirePublication(source, name, UnloggedTables.logged(source, manifest.tables()));
                Decision d = decide(target, source, state, manifest, name, database);
                List<String> queries = new ArrayList<>();
                if (!d.outcome().equals("subscribed")) {
                    plannedQueries(queries, d, name, sourceMajor(source), manifest, request);
                }
                queries.add(subscriptionPreview(migration, request));
                return new CopyResult(true, true, queries, new CopySummary(state.map(CopyState::status)
                        .orElse("absent"), d.outcome(), name, null, manifest.tables().size(), 0, 0, 0, 0, 0, Map.of(),
                        List.of()), null);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** {@code GET copy}: the running copy, else what its state file says. */
    public CopyView view(MigrationId migration, String database) {
        LiveCopy running = live.get(migration.value());
        if (running != null && running.database.equals(database)) {
            return running.view();
        }
        CopyState state = CopyState.load(stateDir, migration).filter(s -> s.database().equals(database))
                .orElseThrow(() -> ApiException.notFound("copy_not_found", "no copy of migration " + migration
                        + " into database " + database + " on this agent; start one with POST /v1/migrations/"
                        + migration + "/copy"));
        long bytes = state.tables().stream().mapToLong(CopyState.TableState::bytes).sum();
        int copied = (int) state.tables().stream().filter(t -> !t.state().equals("pending")
                && !t.state().equals("copying")).count();
        int ready = (int) state.tables().stream().filter(t -> t.state().equals("ready")).count();
        CopyView.Progress p = new CopyView.Progress(state.tables().size(), copied, ready, bytes,
                state.status().equals(CopyState.FAILED) ? 0 : bytes, 0, 0, 0,
                state.seconds() == null ? 0 : state.seconds(), null, null);
        return new CopyView(state.status(), false, null, p, state.tables(), List.of());
    }

    /** Whether a copy of the migration into the database started and did not finish (its rows are its own). */
    public boolean started(MigrationId migration, String database) {
        return CopyState.load(stateDir, migration).filter(s -> s.database().equals(database))
                .filter(s -> !s.status().equals(CopyState.DONE)).isPresent();
    }

    /** The own copy's tables for sync-status, while there is no subscription yet (pending, copying, ...). */
    @Override
    public Optional<SyncStatusService.CopyTables> tables(MigrationId migration, String database) {
        CopyView v;
        try {
            v = view(migration, database);
        } catch (ApiException e) {
            return Optional.empty();
        }
        List<SyncStatus.TableSync> tables = new ArrayList<>(v.tables().size());
        for (CopyState.TableState t : v.tables()) {
            String code = switch (t.state()) {
                case "copying" -> "d";
                case "copied" -> "f";
                case "ready" -> "s";
                default -> "i";
            };
            tables.add(new SyncStatus.TableSync(t.schema(), t.name(), code, SyncStatus.stateName(code), null,
                    t.bytes(), null));
        }
        CopyView.Progress p = v.progress();
        return Optional.of(new SyncStatusService.CopyTables(new SyncStatus.OwnCopy(v.status(), v.running(), v.phase(),
                p == null ? null : p.bytesTotal(), p == null ? null : p.bytesDone(), p == null ? null
                : p.etaSeconds()), tables));
    }

    private void limit(CopyRequest request) {
        if (request.jobs() > limits.maxJobs()) {
            throw new BadRequestException("jobs", "jobs " + request.jobs() + " is more than this agent allows ("
                    + "copy_max_jobs " + limits.maxJobs() + "); ask for at most " + limits.maxJobs() + " or raise "
                    + "copy_max_jobs in the target agent's configuration");
        }
        int connections = CopyLimits.connectionsFor(request.jobs(), request.indexJobs());
        if (connections > limits.maxConnections()) {
            throw new BadRequestException("index_jobs", "jobs " + request.jobs() + " and index_jobs "
                    + request.indexJobs() + " need " + connections + " connections, more than this agent allows ("
                    + "copy_max_connections " + limits.maxConnections() + "); ask for fewer or raise "
                    + "copy_max_connections in the target agent's configuration");
        }
    }

    private CopyResult run(MigrationId migration, CopyRequest request, ProgressSink progress) throws Exception {
        TargetArchive archive = TargetArchive.load(stateDir, migration);
        Manifest manifest = archive.manifest();
        String database = request.database();
        String name = migration.objectName();
        LiveCopy copy = live.computeIfAbsent(migration.value(), k -> new LiveCopy(database));
        try (Connection target = connector.open(database, TIMEOUT, false)) {
            Optional<CopyState> state = CopyState.load(stateDir, migration);
            if (exists(target, SUBSCRIPTION, name)) {
                return unchanged(state, name);
            }
            List<String> queries = new ArrayList<>();
            try (Connection source = SourceSession.open(request.connection(), "pgferry_copy")) {
                // Unlogged tables move empty (their rows write no WAL, so no stream could keep them): never published,
                // never copied.
                List<TableRef> logged = UnloggedTables.logged(source, manifest.tables());
                requirePublication(source, name, logged);
                Decision d = decide(target, source, state, manifest, name, database);
                copy.mark("checks");
                if (d.outcome().equals("subscribed")) {
                    LOG.info("copy of {}: rows and indexes complete at {}, creating the subscription", migration,
                            state.get().consistentLsn());
                    return subscribe(migration, request, state.get(), queries, copy, d.outcome(), progress);
                }
                if (d.dropSlot()) {
                    queries.add(dropSlot(source, name));
                }
                if (!d.truncate().isEmpty()) {
                    progress.report(0, manifest.tables().size(), "emptying " + d.truncate().size()
                            + " tables an earlier copy of this migration wrote into");
                    queries.addAll(TargetTables.truncateStatements(d.truncate()));
                    TargetTables.truncate(target, d.truncate());
                }
                CopyState fresh = new CopyState(CopyState.FORMAT, migration.value(), database, CopyState.COPYING,
                        name, null, Instant.now().toString(), null, null, null, List.of());
                fresh.save(stateDir, migration);
                try {
                    CopyState copied = copy(migration, request, archive, logged, source, target, fresh, queries,
                            copy, progress);
                    return subscribe(migration, request, copied, queries, copy, d.outcome(), progress);
                } catch (Exception e) {
                    abandon(migration, request, fresh, copy, e);
                    throw e;
                }
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        } finally {
            live.remove(migration.value(), copy);
        }
    }

    /**
     * Reads the source's slot and the target's tables against the state file, and decides; refuses what it
     * cannot prove is this copy's own.
     */
    private Decision decide(Connection target, Connection source, Optional<CopyState> state, Manifest manifest,
                            String name, String database) throws SQLException {
        if (state.isPresent() && !state.get().database().equals(database)) {
            throw ApiException.conflict("copy_conflict", "this agent's copy of the migration went into database "
                    + state.get().database() + ", not " + database + "; one migration id serves one database: use "
                    + "another migration id, or run cleanup for this one first", List.of(state.get().database()));
        }
        if (state.isPresent() && state.get().status().equals(CopyState.DONE)) {
            throw ApiException.conflict("copy_finished", "the copy of this migration finished (at "
                    + state.get().finishedAt() + ") and its subscription " + name + " is gone since: the migration "
                    + "was cut over or its replication stopped, and its tables may hold writes made since. pgferry "
                    + "does not copy into them again; to start the migration over, run cleanup (which forgets "
                    + "this copy) and empty the target's tables yourself", List.of(name));
        }
        Optional<Slot> slot = slot(source, name);
        if (slot.isPresent()) {
            Slot s = slot.get();
            if (!"logical".equals(s.type()) || !"pgoutput".equals(s.plugin())
                    || !source.getCatalog().equals(s.database())) {
                throw ApiException.conflict("slot_conflict", "replication slot " + name + " exists on the source but "
                        + "is not a pgoutput slot of database " + source.getCatalog() + "; if it is a leftover, drop "
                        + "it (SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")), else use another "
                        + "migration id", List.of(name));
            }
            if (s.active()) {
                throw ApiException.conflict("slot_in_use", "replication slot " + name + " on the source is in use "
                        + "by another connection (a subscription elsewhere?); pgferry does not take it over: stop "
                        + "what uses it, or use another migration id", List.of(name));
            }
            if (state.isEmpty()) {
                throw ApiException.conflict("slot_conflict", "replication slot " + name + " exists on the source "
                        + "but no copy on this agent made it, so the rows it stands for cannot be proven to be here; "
                        + "if it is a leftover (an earlier subscription's, a lost agent's), drop it: SELECT "
                        + "pg_drop_replication_slot(" + Sql.literal(name) + ") on the source, and rerun",
                        List.of(name));
            }
            CopyState st = state.get();
            if (st.status().equals(CopyState.COPIED) && st.consistentLsn() != null
                    && st.consistentLsn().equals(s.confirmedFlush())) {
                return new Decision("subscribed", false, List.of());
            }
        }
        List<TableRef> written = TargetTables.written(target, manifest.tables());
        if (state.isEmpty()) {
            List<TableRef> rows = TargetTables.withRows(target, written);
            if (!rows.isEmpty()) {
                List<String> named = rows.stream().map(TableRef::quoted).toList();
                throw ApiException.unprocessable("target_tables_not_empty", rows.size() + " tables of the migration "
                        + "already hold rows on the target and no copy of this migration put them there: "
                        + String.join(", ", named.subList(0, Math.min(20, named.size())))
                        + (named.size() > 20 ? ", ..." : "") + "; pgferry never overwrites data: empty them "
                        + "(TRUNCATE) if their rows are not needed, or migrate into another database", named);
            }
            return new Decision("copied", false, List.of());
        }
        return new Decision("recopied", slot.isPresent(), written);
    }

    /** Rows, keys and indexes of every table, under a new slot's snapshot; returns the state saved as copied. */
    private CopyState copy(MigrationId migration, CopyRequest request, TargetArchive archive, List<TableRef> logged,
                           Connection source, Connection target, CopyState fresh, List<String> queries, LiveCopy copy,
                           ProgressSink progress) throws Exception {
        Manifest manifest = archive.manifest();
        String database = request.database();
        String name = migration.objectName();
        Object[] sourceSide = encodingAndMajor(source);
        Object[] targetSide = encodingAndMajor(target);
        // Binary COPY sends text as the server stores it: only between databases of the same encoding.
        boolean binary = sourceSide[0].equals(targetSide[0]);
        int sourceMajor = (Integer) sourceSide[1];
        progress.report(0, manifest.tables().size(), "creating replication slot " + name);
        Abort abort = new Abort();
        CopyState state;
        IndexBuilder builder;
        try (SnapshotSlot slot = SnapshotSlot.create(request.connection(), name, sourceMajor)) {
            copy.mark("slot");
            queries.add(SnapshotSlot.command(name, sourceMajor));
            state = fresh.with(CopyState.COPYING, slot.consistentLsn(), null, null, null, List.of());
            state.save(stateDir, migration);
            CopyPlan plan;
            IndexPlan indexes;
            Map<Integer, KeyIndex> keys;
            source.setAutoCommit(false);
            source.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            source.setReadOnly(true);
            try (Statement st = source.createStatement()) {
                st.execute("SET TRANSACTION SNAPSHOT " + Sql.literal(slot.snapshot()));
                plan = CopyPlan.read(source, logged, request.jobs(), request.pieceBytes(),
                        Runtime.getRuntime().availableProcessors(), binary);
                indexes = IndexPlan.of(manifest, plan.units(), new TargetCatalog(target));
                keys = KeyIndex.read(source, indexes.entries());
            } finally {
                source.rollback();
            }
            copy.mark("plan");
            IndexScript.Script script = IndexScript.extract(process, Tools.forServer(pgTools,
                    (Integer) targetSide[1]), archive.files(), indexes.entries()).orElse(null);
            List<KeyIndex> apart = List.of();
            if (script == null) {
                LOG.warn("copy of {}: the archive's index script could not be cut per entry; keys are restored "
                        + "after the copy, the other indexes by post-data", migration);
            } else {
                apart = script.keysApart(keys.values());
                script = script.withKeysApart(apart);
                indexes = indexes.keysApart(apart);
            }
            Supplier<Connection> targetSession = () -> targetSession(database);
            builder = script == null ? null : new IndexBuilder(script, indexes.work(), targetSession, abort);
            copy.planned(plan, builder, builder != null ? indexes.tasks() : 0);
            copy.mark("index script");
            queries.add("COPY " + plan.units().size() + " tables (" + plan.bytes() + " bytes in "
                    + plan.pieces().size() + " pieces, " + plan.units().stream().filter(u -> u.binary).count()
                    + " in binary) from the source into the target, " + request.jobs() + " at a time, each source "
                    + "transaction: SET TRANSACTION SNAPSHOT " + Sql.literal(slot.snapshot()));
            if (builder != null) {
                queries.add(indexes.tasks() + " key and index builds from the schema archive ("
                        + indexes.entries().size() + " entries), " + request.indexJobs() + " at a time, each table's "
                        + "as soon as its rows are committed" + (apart.isEmpty() ? "" : "; " + apart.size()
                        + " primary keys as CREATE UNIQUE INDEX beside their table's other indexes, then ADD "
                        + "CONSTRAINT ... PRIMARY KEY USING INDEX"));
                builder.start(request.indexJobs());
            }
            runWorkers(request, plan, slot.snapshot(), targetSession, builder, abort, copy, progress);
            // Every table's transaction has imported the snapshot: the export can end here, the slot stays.
        } catch (Exception e) {
            abort.fail(e);
            throw e;
        }
        copy.dataCopied();
        copy.mark("rows");
        LOG.info("copy of {}: rows copied in {} s", migration, copy.dataSeconds());
        if (builder != null) {
            while (!builder.finish(1000)) {
                progress.report(copy.view().progress().tablesReady(), manifest.tables().size(), copy.line());
            }
        }
        abort.rethrow();
        if (builder == null) {
            restoreKeysFallback(archive, manifest, database, queries);
        }
        copy.mark("indexes");
        CopyState copied = state.with(CopyState.COPIED, state.consistentLsn(), null, copy.seconds(), null,
                copy.view().tables());
        copied.save(stateDir, migration);
        return copied;
    }

    private void runWorkers(CopyRequest request, CopyPlan plan, String snapshot, Supplier<Connection> targetSession,
                            IndexBuilder builder, Abort abort, LiveCopy copy, ProgressSink progress)
            throws Exception {
        ConcurrentLinkedQueue<CopyPiece> queue = new ConcurrentLinkedQueue<>(plan.pieces());
        java.util.function.Consumer<CopyUnit> copied = unit -> {
            if (builder == null) {
                unit.ready();
            } else {
                builder.tableCopied(unit);
            }
        };
        plan.units().stream().filter(CopyUnit::empty).forEach(u -> {
            u.nothingToCopy();
            copied.accept(u);
        });
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < request.jobs(); i++) {
            Thread t = new Thread(new CopyWorker(() -> SourceSession.open(request.connection(), "pgferry_copy"),
                    targetSession, snapshot, queue, copied, abort), "copy-" + (i + 1));
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            while (t.isAlive()) {
                t.join(1000);
                progress.report(copy.view().progress().tablesCopied(), plan.units().size(), copy.line());
            }
        }
        abort.rethrow();
    }

    /**
     * When the archive's script could not be cut per entry: the keys the subscription needs, restored after the
     * copy with pg_restore in one transaction; the other indexes are left to post-data.
     */
    private void restoreKeysFallback(TargetArchive archive, Manifest manifest, String database,
                                     List<String> queries) throws Exception {
        List<TocEntry> keys;
        try (Connection c = connector.open(database, Duration.ofMinutes(5), true)) {
            TargetCatalog target = new TargetCatalog(c);
            List<TocEntry> missing = new ArrayList<>();
            for (TocEntry e : manifest.section(TocEntry.POST_DATA)) {
                if (e.keyForReplication() && TargetCatalog.checkable(e) && !target.exists(e)) {
                    missing.add(e);
                }
            }
            keys = TargetArchive.withComments(manifest, missing);
        }
        if (!keys.isEmpty()) {
            Restore restore = new Restore(process, Tools.forServer(pgTools, targetMajor(database)), archive.files());
            restore.run(database, TocEntry.POST_DATA, keys, List.of("--single-transaction"));
            queries.add(Restore.describe(TocEntry.POST_DATA, keys, List.of("--single-transaction")));
        }
    }

    /** Creates the subscription on the slot (no slot, no copy of its own), then records the copy as done. */
    private CopyResult subscribe(MigrationId migration, CopyRequest request, CopyState copied, List<String> queries,
                                 LiveCopy copy, String outcome, ProgressSink progress) {
        copy.phase("subscribing");
        progress.report(copied.tables().size(), copied.tables().size(), "creating subscription "
                + migration.objectName() + " on slot " + migration.objectName());
        StepResult<SubscriptionState.Response> sub = subscriptions.apply(migration, new SubscriptionRequest(
                request.database(), request.connection(), false, request.binary(), request.streaming(), true, false,
                false));
        queries.addAll(sub.queries());
        copy.mark("subscription");
        CopyState done = copied.with(CopyState.DONE, copied.consistentLsn(), Instant.now().toString(),
                copied.seconds(), null, copied.tables());
        done.save(stateDir, migration);
        return new CopyResult(true, false, queries, summary(done, outcome, copy), sub.state().subscription());
    }

    /** A copy that failed keeps nothing: its state says so and its slot is dropped, so no WAL is held for it. */
    private void abandon(MigrationId migration, CopyRequest request, CopyState fresh, LiveCopy copy, Exception e) {
        String reason = jobs.explain(e).map(Problem::detail).orElse(e.getClass().getSimpleName());
        try {
            fresh.with(CopyState.FAILED, null, Instant.now().toString(), copy.seconds(), reason,
                    copy.view().tables()).save(stateDir, migration);
        } catch (RuntimeException ignored) {
            // the rerun finds the state "copying" and treats it the same way
        }
        try (Connection source = SourceSession.open(request.connection(), "pgferry_copy")) {
            if (slot(source, migration.objectName()).filter(s -> !s.active()).isPresent()) {
                dropSlot(source, migration.objectName());
            }
        } catch (RuntimeException | SQLException ignored) {
            LOG.warn("copy of {} failed and its slot {} could not be dropped; the rerun (or cleanup) drops it",
                    migration, migration.objectName());
        }
    }

    private CopyResult unchanged(Optional<CopyState> state, String name) {
        String status = state.map(CopyState::status).orElse("native");
        int tables = state.map(s -> s.tables().size()).orElse(0);
        return new CopyResult(false, false, List.of(), new CopySummary(status, "unchanged", name,
                state.map(CopyState::consistentLsn).orElse(null), tables, state.map(s -> s.tables().stream()
                .mapToLong(CopyState.TableState::bytes).sum()).orElse(0L), state.map(s -> s.tables().stream()
                .mapToLong(CopyState.TableState::rowsWritten).sum()).orElse(0L), 0, 0, state.map(CopyState::seconds)
                .orElse(0.0), Map.of(), List.of()), null);
    }

    private static CopySummary summary(CopyState s, String outcome, LiveCopy copy) {
        CopyView v = copy.view();
        long rows = s.tables().stream().mapToLong(CopyState.TableState::rowsWritten).sum();
        long bytes = s.tables().stream().mapToLong(CopyState.TableState::bytes).sum();
        int binary = (int) s.tables().stream().filter(t -> "binary".equals(t.format())).count();
        return new CopySummary(s.status(), outcome, s.slot(), s.consistentLsn(), s.tables().size(), bytes, rows,
                binary, v.progress() == null ? 0 : v.progress().indexBuildsTotal(), copy.seconds(),
                copy.timings(), v.notes());
    }

    private void plannedQueries(List<String> queries, Decision d, String name, int sourceMajor, Manifest manifest,
                                CopyRequest request) {
        if (d.dropSlot()) {
            queries.add("SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")");
        }
        queries.addAll(TargetTables.truncateStatements(d.truncate()));
        queries.add(SnapshotSlot.command(name, sourceMajor));
        queries.add("COPY " + manifest.tables().size() + " tables from the source into the target, "
                + request.jobs() + " at a time, each source transaction: SET TRANSACTION SNAPSHOT '<exported by the "
                + "slot>'; their keys and indexes from the schema archive, " + request.indexJobs() + " at a time");
    }

    private String subscriptionPreview(MigrationId migration, CopyRequest request) {
        StepResult<SubscriptionState.Response> sub = subscriptions.apply(migration, new SubscriptionRequest(
                request.database(), request.connection(), false, request.binary(), request.streaming(), true, true,
                false));
        return String.join("; ", sub.queries());
    }

    /**
     * Rows copied in the snapshot plus the changes the slot streams are every row only if the publication held every
     * table when the slot was made: a table added later would miss the changes between the two.
     *
     * @throws ApiException 422 {@code publication_mismatch} before anything is made
     */
    private static void requirePublication(Connection source, String name, List<TableRef> tables)
            throws SQLException {
        if (tables.isEmpty()) {
            throw ApiException.unprocessable("no_tables_in_scope", "the schema archive holds no tables, so there is "
                    + "nothing to copy; check the scope", List.of());
        }
        Set<TableRef> members = new HashSet<>();
        boolean exists = false;
        boolean all = false;
        try (PreparedStatement st = source.prepareStatement("""
                SELECT p.puballtables, n.nspname, c.relname FROM pg_publication p
                LEFT JOIN pg_publication_rel pr ON pr.prpubid = p.oid
                LEFT JOIN pg_class c ON c.oid = pr.prrelid LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE p.pubname = ?""")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    exists = true;
                    all = rs.getBoolean(1);
                    if (rs.getString(2) != null) {
                        members.add(new TableRef(rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
        if (!exists) {
            throw ApiException.unprocessable("publication_missing", "the source has no publication " + name
                    + "; run the publication step first: the slot must be made after it", List.of(name));
        }
        Set<TableRef> wanted = new HashSet<>(tables);
        Set<String> missing = new TreeSet<>();
        Set<String> extra = new TreeSet<>();
        tables.stream().filter(t -> !members.contains(t)).forEach(t -> missing.add(t.quoted()));
        members.stream().filter(t -> !wanted.contains(t)).forEach(t -> extra.add(t.quoted()));
        if (all || !missing.isEmpty() || !extra.isEmpty()) {
            List<String> objects = new ArrayList<>();
            missing.forEach(t -> objects.add("not published: " + t));
            extra.forEach(t -> objects.add("published, not in the archive: " + t));
            throw ApiException.unprocessable("publication_mismatch", "publication " + name + " does not publish "
                    + "exactly the tables of the schema archive (" + (all ? "it publishes all tables" : missing.size()
                    + " missing, " + extra.size() + " more") + "); run the publication step with the scope of the "
                    + "schema archive, then the copy", objects.subList(0, Math.min(50, objects.size())));
        }
    }

    private static Optional<Slot> slot(Connection source, String name) throws SQLException {
        boolean auto = source.getAutoCommit();
        source.setAutoCommit(true);
        try (PreparedStatement st = source.prepareStatement(SLOT)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Slot(rs.getBoolean(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5)));
            }
        } finally {
            source.setAutoCommit(auto);
        }
    }

    private static String dropSlot(Connection source, String name) throws SQLException {
        String sql = "SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")";
        source.setAutoCommit(true);
        try (Statement st = source.createStatement()) {
            st.execute(sql);
        }
        return sql;
    }

    private static boolean exists(Connection c, String sql, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** The database's encoding name and the server's major version. */
    private static Object[] encodingAndMajor(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(ENCODING)) {
            rs.next();
            return new Object[] {rs.getString(1), rs.getInt(2)};
        }
    }

    private static int sourceMajor(Connection source) throws SQLException {
        return (Integer) encodingAndMajor(source)[1];
    }

    private int targetMajor(String database) throws SQLException {
        try (Connection c = connector.open(database, Duration.ofSeconds(30), true)) {
            return connector.serverVersion(c).major();
        }
    }

    /**
     * A target session of the copy: no timeouts, and (where the agent's role may) triggers and rules off as in
     * the subscription's own apply, so rows land as they are.
     */
    private Connection targetSession(String database) {
        Connection c = connector.open(database, TIMEOUT, false);
        try (Statement st = c.createStatement()) {
            st.execute("SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0;"
                    + " SET default_transaction_read_only = off; SET standard_conforming_strings = on;"
                    + " SET DateStyle = ISO; SET IntervalStyle = postgres");
            try {
                st.execute("SET session_replication_role = replica");
            } catch (SQLException e) {
                if (!"42501".equals(e.getSQLState())) {
                    throw e;
                }
            }
            return c;
        } catch (SQLException e) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing a broken session
            }
            throw connector.translate(e);
        }
    }
}
