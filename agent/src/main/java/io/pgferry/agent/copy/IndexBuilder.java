package io.pgferry.agent.copy;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Builds each table's keys and indexes on the target as soon as its rows are committed, on a few sessions of its
 * own that live as long as the copy: keys first, then the other indexes, in parallel across tables (and across
 * the indexes of a big table; a big table's primary key is built beside them and attached last, see
 * {@link KeyIndex}). A table is ready once all of its entries are built.
 */
final class IndexBuilder {
    private record Task(CopyUnit unit, List<Integer> ids, boolean keys) {
    }

    /** Tasks of small tables sent in one round trip. */
    static final int BATCH = 100;

    private final IndexScript.Script script;
    private final Map<CopyUnit, IndexWork> work;
    private final Supplier<Connection> target;
    private final Abort abort;
    private final BlockingQueue<Task> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger outstanding = new AtomicInteger();
    private final Map<CopyUnit, AtomicInteger> pending = new java.util.concurrent.ConcurrentHashMap<>();
    private final AtomicInteger built = new AtomicInteger();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    IndexBuilder(IndexScript.Script script, Map<CopyUnit, IndexWork> work, Supplier<Connection> target,
                 Abort abort) {
        this.script = script;
        this.work = work;
        this.target = target;
        this.abort = abort;
    }

    void start(int jobs) {
        for (int i = 0; i < jobs; i++) {
            Thread t = new Thread(this::run, "copy-index-" + (i + 1));
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    /** Index builds done so far (a table's keys count as one, each other index task as one). */
    int built() {
        return built.get();
    }

    /** Called when the table's last rows are committed. */
    void tableCopied(CopyUnit unit) {
        IndexWork w = work.get(unit);
        if (w == null || w.isEmpty()) {
            unit.ready();
            return;
        }
        if (w.keysLast() || w.keys().isEmpty()) {
            others(unit, w);
        } else {
            keys(unit, w);
        }
    }

    /**
     * No more tables will come: waits up to {@code millis} for every task to have run (or the copy to have failed);
     * returns whether they have.
     */
    boolean finish(long millis) throws InterruptedException {
        closed = true;
        long deadline = System.currentTimeMillis() + millis;
        for (Thread t : threads) {
            t.join(Math.max(1, deadline - System.currentTimeMillis()));
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    private void keys(CopyUnit unit, IndexWork w) {
        pending.put(unit, new AtomicInteger(1));
        submit(new Task(unit, w.keys(), true));
    }

    private void others(CopyUnit unit, IndexWork w) {
        if (w.others().isEmpty()) {
            unit.ready();
            return;
        }
        pending.put(unit, new AtomicInteger(w.others().size()));
        w.others().forEach(ids -> submit(new Task(unit, ids, false)));
    }

    /** The table's keys or its other indexes are built: what comes next for it. */
    private void next(Task done) {
        IndexWork w = work.get(done.unit());
        if (done.keys() && !w.keysLast()) {
            others(done.unit(), w);
        } else if (!done.keys() && w.keysLast()) {
            keys(done.unit(), w);
        } else {
            done.unit().ready();
        }
    }

    private void submit(Task task) {
        outstanding.incrementAndGet();
        queue.add(task);
    }

    private void run() {
        try (Connection c = target.get()) {
            abort.register(c);
            try {
                c.setAutoCommit(true);
                try (Statement st = c.createStatement()) {
                    st.setEscapeProcessing(false);
                    if (!script.preamble().isBlank()) {
                        st.execute(script.preamble());
                    }
                }
                loop(c);
            } finally {
                abort.unregister(c);
            }
        } catch (Exception e) {
            abort.fail(e);
        }
    }

    private void loop(Connection c) throws SQLException, InterruptedException {
        while (!abort.aborted()) {
            Task first = queue.poll(100, TimeUnit.MILLISECONDS);
            if (first == null) {
                if (closed && outstanding.get() == 0) {
                    return;
                }
                continue;
            }
            List<Task> tasks = new ArrayList<>(List.of(first));
            if (!first.unit().big()) {
                // Only small tables' tasks join the batch: a big table's stay queued for the other sessions, so
                // its indexes are built side by side.
                for (Task t : queue) {
                    if (tasks.size() >= BATCH) {
                        break;
                    }
                    if (!t.unit().big() && queue.remove(t)) {
                        tasks.add(t);
                    }
                }
            }
            try {
                run(c, tasks);
            } finally {
                outstanding.addAndGet(-tasks.size());
            }
        }
    }

    /**
     * Several small tables' keys and indexes in one round trip (one implicit transaction: all or none); when that
     * fails, each again on its own, so the error names the table it belongs to.
     */
    private void run(Connection c, List<Task> tasks) throws SQLException {
        String sql = tasks.stream().flatMap(t -> t.ids().stream()).map(id -> script.sql().get(id))
                .collect(Collectors.joining("\n"));
        try (Statement st = c.createStatement()) {
            // pg_restore's own text: no JDBC escapes to expand in it.
            st.setEscapeProcessing(false);
            st.execute(sql);
        } catch (SQLException e) {
            if (tasks.size() > 1) {
                for (Task t : tasks) {
                    run(c, List.of(t));
                }
                return;
            }
            Task task = tasks.get(0);
            throw CopyWorker.failure("building the " + (task.keys() ? "keys" : "indexes") + " of "
                    + task.unit().table.quoted() + " (archive entries " + task.ids().stream().map(id -> id < 0
                    ? "the index of " + -id : String.valueOf(id)).toList() + ")", e, null);
        }
        for (Task task : tasks) {
            built.incrementAndGet();
            if (pending.get(task.unit()).decrementAndGet() == 0) {
                next(task);
            }
        }
    }
}
