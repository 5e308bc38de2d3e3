package io.pgferry.agent.copy;

import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An application writing to the source while the copy runs: inserts, updates and deletes on the big table, the
 * key-less one (replica identity full), a partitioned one and a table copied as text, each in its own
 * transaction, as fast as one session goes.
 */
final class Writes implements AutoCloseable {
    private final Thread thread;
    private final AtomicLong done = new AtomicLong();
    private volatile boolean stop;
    private volatile Exception failure;

    private Writes(PgCluster cluster, String database) {
        thread = new Thread(() -> run(cluster, database), "writes-" + database);
        thread.setDaemon(true);
    }

    static Writes start(PgCluster cluster, String database) {
        Writes w = new Writes(cluster, database);
        w.thread.start();
        return w;
    }

    private void run(PgCluster cluster, String database) {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            while (!stop) {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                int id = 1 + r.nextInt(50_000);
                List<String> batch = List.of(
                        "UPDATE public.big SET n = n + 1, pad = md5(random()::text) || " + id + " WHERE id = " + id,
                        "DELETE FROM public.big WHERE id = " + (id + 1),
                        "INSERT INTO public.big VALUES (" + (10_000_000 + done.get()) + ", md5(random()::text), 7)",
                        "UPDATE public.keyless SET b = b || '+' WHERE a = " + (1 + r.nextInt(300)),
                        "INSERT INTO public.measurements (taken, value) VALUES ('2025-06-01'::date + "
                                + r.nextInt(300) + ", " + r.nextDouble() + ")",
                        "UPDATE \"Sales Dept\".\"Customer Accounts\" SET \"select\" = 'w' || " + r.nextInt(1000)
                                + " WHERE \"Id\" = " + (1 + r.nextInt(500)),
                        "INSERT INTO \"order\".\"table\" VALUES (" + (1000 + done.get()) + ", 'late')");
                for (String sql : batch) {
                    st.execute(sql);
                }
                done.incrementAndGet();
            }
        } catch (SQLException e) {
            failure = e;
        } catch (Exception e) {
            failure = e;
        }
    }

    /** Waits until at least {@code n} rounds of writes were made, so the copy provably ran under writes. */
    void awaitSome(long n) throws Exception {
        while (done.get() < n && failure == null && thread.isAlive()) {
            Thread.sleep(50);
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() throws Exception {
        stop = true;
        thread.join(30_000);
        if (failure != null) {
            throw failure;
        }
    }
}
