package io.pgferry.agent.copy;

import java.util.ArrayList;
import java.util.List;

/** The copy that runs now, as its threads update it; read by {@code GET copy} and the job's progress. */
final class LiveCopy {
    final String database;
    private final long started = System.nanoTime();
    private volatile String phase = "preparing";
    private volatile CopyPlan plan;
    private volatile IndexBuilder indexes;
    private volatile int indexBuilds;
    private volatile long dataNanos;
    private final java.util.Map<String, Double> timings = new java.util.LinkedHashMap<>();
    private long lastMark = started;

    LiveCopy(String database) {
        this.database = database;
    }

    void phase(String value) {
        phase = value;
    }

    /** Closes a timed part of the copy: the seconds since the previous mark are recorded under {@code name}. */
    synchronized void mark(String name) {
        long now = System.nanoTime();
        timings.merge(name, Math.round((now - lastMark) / 1e6) / 1000.0, Double::sum);
        lastMark = now;
    }

    synchronized java.util.Map<String, Double> timings() {
        return new java.util.LinkedHashMap<>(timings);
    }

    void planned(CopyPlan p, IndexBuilder builder, int builds) {
        plan = p;
        indexes = builder;
        indexBuilds = builds;
        phase = "copying";
    }

    void dataCopied() {
        dataNanos = System.nanoTime() - started;
        phase = "indexing";
    }

    double seconds() {
        return (System.nanoTime() - started) / 1e9;
    }

    Double dataSeconds() {
        return dataNanos == 0 ? null : dataNanos / 1e9;
    }

    CopyView view() {
        CopyPlan p = plan;
        if (p == null) {
            return new CopyView(CopyState.COPYING, true, phase, null, List.of(), List.of());
        }
        int copied = 0;
        int ready = 0;
        long done = 0;
        long streamed = 0;
        List<CopyState.TableState> tables = new ArrayList<>(p.units().size());
        for (CopyUnit u : p.units()) {
            CopyUnit.State s = u.state();
            copied += s == CopyUnit.State.COPIED || s == CopyUnit.State.READY ? 1 : 0;
            ready += s == CopyUnit.State.READY ? 1 : 0;
            long d = u.bytesDone.get();
            streamed += u.streamedBytes.get();
            // A piece in flight counts with what it streamed, never beyond the table's size.
            done += s == CopyUnit.State.COPYING ? Math.min(u.bytes, Math.max(d, u.streamedBytes.get())) : d;
            tables.add(tableState(u));
        }
        double elapsed = seconds();
        double dataElapsed = dataNanos == 0 ? elapsed : dataNanos / 1e9;
        Double rate = done > 0 && dataElapsed > 0 ? done / dataElapsed : null;
        Double eta = rate == null || dataNanos != 0 ? null : Math.max(0, (p.bytes() - done) / rate);
        IndexBuilder b = indexes;
        CopyView.Progress progress = new CopyView.Progress(p.units().size(), copied, ready, p.bytes(), done, streamed,
                indexBuilds, b == null ? 0 : b.built(), round(elapsed), rate == null ? null : (double) Math.round(rate),
                eta == null ? null : round(eta));
        return new CopyView(CopyState.COPYING, true, phase, progress, tables, p.notes());
    }

    /** One line for the job's progress message. */
    String line() {
        CopyView v = view();
        CopyView.Progress p = v.progress();
        if (p == null) {
            return v.phase();
        }
        return v.phase() + ": " + mib(p.bytesDone()) + " of " + mib(p.bytesTotal()) + " MiB, " + p.tablesCopied()
                + " of " + p.tablesTotal() + " tables copied, " + p.tablesReady() + " ready, index builds "
                + p.indexBuildsDone() + " of " + p.indexBuildsTotal()
                + (p.etaSeconds() == null ? "" : ", ETA " + Math.round(p.etaSeconds()) + " s");
    }

    static CopyState.TableState tableState(CopyUnit u) {
        return new CopyState.TableState(u.table.schema(), u.table.name(), u.state().json(), u.bytes,
                u.rowsRead.get(), u.rowsWritten.get(), u.binary ? "binary" : "text");
    }

    private static long mib(long bytes) {
        return bytes / (1024 * 1024);
    }

    private static double round(double seconds) {
        return Math.round(seconds * 10) / 10.0;
    }
}
