package io.pgferry.agent.copy;

import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.copy.CopyOut;
import org.postgresql.util.PSQLException;

/**
 * One of the copy's parallel streams: a source session and a target session, kept for the whole copy, taking
 * pieces off the shared queue. Each source transaction imports the slot's snapshot; the rows go from COPY TO STDOUT
 * straight into COPY FROM STDIN through a fixed buffer, never to disk and never a whole table in memory. Tiny
 * tables go back to back in one transaction on each side (no slot, snapshot or connection of their own), committed
 * every {@link #BATCH_PIECES} tables, {@link #BATCH_BYTES} bytes or {@link #BATCH_MILLIS} ms; any other piece is
 * committed on its own: a commit is the point where a table counts as copied and its indexes may be built.
 *
 * <p>Tiny tables ({@link CopyPiece#tiny()}) skip COPY: its three round trips per table (one on the source, two on
 * the target) are most of the cost of a one-row table. A batch of them is read with one multi-statement query
 * (each column cast to text: PostgreSQL's own types only, whose text forms round-trip exactly) and written with one
 * pipelined batch of INSERTs whose values are untyped literals, parsed by the same input functions COPY uses.
 */
final class CopyWorker implements Runnable {
    static final int BATCH_PIECES = 200;
    static final long BATCH_BYTES = 64L * 1024 * 1024;
    static final long BATCH_MILLIS = 1000;
    /** COPY messages need not follow rows: rows are gathered into messages of this size. */
    private static final int BUFFER = 256 * 1024;
    /** Tiny tables read in one round trip: bounded so their rows, held in memory, stay small. */
    static final int TINY_BATCH_PIECES = 200;
    static final long TINY_BATCH_BYTES = 4L * 1024 * 1024;
    /** Rows per INSERT statement of a tiny table. */
    private static final int ROWS_PER_INSERT = 500;

    private record Done(CopyPiece piece, long rowsRead, long rowsWritten) {
    }

    private final Supplier<Connection> source;
    private final Supplier<Connection> target;
    private final String snapshot;
    private final Queue<CopyPiece> queue;
    private final Consumer<CopyUnit> copied;
    private final Abort abort;
    private final byte[] buffer = new byte[BUFFER];

    CopyWorker(Supplier<Connection> source, Supplier<Connection> target, String snapshot, Queue<CopyPiece> queue,
               Consumer<CopyUnit> copied, Abort abort) {
        this.source = source;
        this.target = target;
        this.snapshot = snapshot;
        this.queue = queue;
        this.copied = copied;
        this.abort = abort;
    }

    @Override
    public void run() {
        try (Connection src = source.get(); Connection dst = target.get()) {
            abort.register(src);
            abort.register(dst);
            try {
                loop(src, dst);
            } finally {
                abort.unregister(src);
                abort.unregister(dst);
            }
        } catch (Exception e) {
            abort.fail(e);
        }
    }

    private void loop(Connection src, Connection dst) throws SQLException {
        src.setAutoCommit(false);
        src.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        src.setReadOnly(true);
        dst.setAutoCommit(false);
        CopyManager out = src.unwrap(PGConnection.class).getCopyAPI();
        CopyManager in = dst.unwrap(PGConnection.class).getCopyAPI();
        List<Done> batch = new ArrayList<>();
        long batchBytes = 0;
        long started = 0;
        while (!abort.aborted()) {
            CopyPiece piece = queue.poll();
            if (piece == null) {
                break;
            }
            if (batch.isEmpty()) {
                // The first statement of each source transaction: every piece reads the database as of the slot.
                try (Statement st = src.createStatement()) {
                    st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
                } catch (SQLException e) {
                    throw failure("importing the slot's snapshot", e, "the replication connection that holds it "
                            + "ended early; rerun the copy (it starts again under a new slot)");
                }
                started = System.currentTimeMillis();
            }
            if (piece.tiny()) {
                List<CopyPiece> tiny = new ArrayList<>(List.of(piece));
                long bytes = piece.bytes();
                for (CopyPiece next; tiny.size() < TINY_BATCH_PIECES && bytes < TINY_BATCH_BYTES
                        && (next = queue.peek()) != null && next.tiny() && queue.remove(next); ) {
                    tiny.add(next);
                    bytes += next.bytes();
                }
                tiny.forEach(p -> p.unit().copying());
                batch.addAll(tiny(src, dst, tiny));
                batchBytes += bytes;
            } else {
                piece.unit().copying();
                batch.add(stream(out, in, piece));
                // A piece worth a COPY is worth a commit: its table's indexes can start as soon as it is in.
                batchBytes = BATCH_BYTES;
            }
            if (batch.size() >= BATCH_PIECES || batchBytes >= BATCH_BYTES
                    || System.currentTimeMillis() - started >= BATCH_MILLIS) {
                commit(src, dst, batch);
                batchBytes = 0;
            }
        }
        if (!abort.aborted() && !batch.isEmpty()) {
            commit(src, dst, batch);
        }
    }

    private Done stream(CopyManager out, CopyManager in, CopyPiece piece) throws SQLException {
        CopyOut reading = null;
        CopyIn writing = null;
        try {
            reading = out.copyOut(piece.sourceSql());
            writing = in.copyIn(piece.unit().targetSql());
            int filled = 0;
            byte[] row;
            while ((row = reading.readFromCopy()) != null) {
                if (filled + row.length > buffer.length) {
                    filled = flush(writing, piece, filled);
                    if (row.length > buffer.length) {
                        writing.writeToCopy(row, 0, row.length);
                        piece.unit().streamedBytes.addAndGet(row.length);
                        continue;
                    }
                }
                System.arraycopy(row, 0, buffer, filled, row.length);
                filled += row.length;
            }
            flush(writing, piece, filled);
            long read = reading.getHandledRowCount();
            long written = writing.endCopy();
            if (read != written) {
                throw new ApiException(500, "copy_rows_mismatch", "Copy incomplete", "copying "
                        + piece.describe() + ": " + read + " rows read on the source but " + written + " written on "
                        + "the target; nothing of this copy is kept, rerun it");
            }
            return new Done(piece, read, written);
        } catch (SQLException e) {
            cancel(writing);
            cancel(reading);
            throw failure("copying " + piece.describe(), e, null);
        }
    }

    /** Reads every tiny table of the batch in one round trip, writes them all in another. */
    private List<Done> tiny(Connection src, Connection dst, List<CopyPiece> pieces) throws SQLException {
        List<List<String[]>> rows = new ArrayList<>(pieces.size());
        String query = pieces.stream().map(CopyPiece::selectText).collect(java.util.stream.Collectors.joining(";\n"));
        try (Statement st = src.createStatement()) {
            boolean result = st.execute(query);
            while (true) {
                if (result) {
                    try (java.sql.ResultSet rs = st.getResultSet()) {
                        int n = rs.getMetaData().getColumnCount();
                        List<String[]> table = new ArrayList<>();
                        while (rs.next()) {
                            String[] row = new String[n];
                            for (int i = 0; i < n; i++) {
                                row[i] = rs.getString(i + 1);
                            }
                            table.add(row);
                        }
                        rows.add(table);
                    }
                } else if (st.getUpdateCount() == -1) {
                    break;
                }
                result = st.getMoreResults();
            }
        } catch (SQLException e) {
            throw failure("reading " + pieces.size() + " small tables (" + pieces.get(0).describe() + " ...)", e,
                    null);
        }
        if (rows.size() != pieces.size()) {
            throw new IllegalStateException(pieces.size() + " tables read, " + rows.size() + " results");
        }
        List<Integer> owners = new ArrayList<>();
        long[] written = new long[pieces.size()];
        try (Statement st = dst.createStatement()) {
            st.setEscapeProcessing(false);
            for (int p = 0; p < pieces.size(); p++) {
                CopyUnit unit = pieces.get(p).unit();
                List<String[]> table = rows.get(p);
                for (int from = 0; from < table.size(); from += ROWS_PER_INSERT) {
                    StringBuilder sql = new StringBuilder("INSERT INTO ").append(unit.table.quoted())
                            .append(unit.columnList()).append(" OVERRIDING SYSTEM VALUE VALUES ");
                    for (int r = from; r < Math.min(table.size(), from + ROWS_PER_INSERT); r++) {
                        sql.append(r == from ? "(" : ", (");
                        String[] row = table.get(r);
                        for (int c = 0; c < row.length; c++) {
                            sql.append(c == 0 ? "" : ", ").append(row[c] == null ? "NULL" : Sql.literal(row[c]));
                        }
                        sql.append(')');
                    }
                    st.addBatch(sql.toString());
                    owners.add(p);
                }
            }
            if (!owners.isEmpty()) {
                int[] counts = st.executeBatch();
                for (int i = 0; i < counts.length; i++) {
                    written[owners.get(i)] += counts[i];
                }
            }
        } catch (SQLException e) {
            SQLException cause = e.getNextException() != null ? e.getNextException() : e;
            throw failure("writing " + pieces.size() + " small tables (" + pieces.get(0).describe() + " ...)",
                    cause, null);
        }
        List<Done> done = new ArrayList<>(pieces.size());
        for (int p = 0; p < pieces.size(); p++) {
            CopyPiece piece = pieces.get(p);
            long read = rows.get(p).size();
            if (read != written[p]) {
                throw new ApiException(500, "copy_rows_mismatch", "Copy incomplete", "copying " + piece.describe()
                        + ": " + read + " rows read on the source but " + written[p] + " written on the target; "
                        + "nothing of this copy is kept, rerun it");
            }
            piece.unit().streamedBytes.addAndGet(piece.bytes());
            done.add(new Done(piece, read, written[p]));
        }
        return done;
    }

    private int flush(CopyIn writing, CopyPiece piece, int filled) throws SQLException {
        if (filled > 0) {
            writing.writeToCopy(buffer, 0, filled);
            piece.unit().streamedBytes.addAndGet(filled);
        }
        return 0;
    }

    /** Target first: once it committed, the rows are there; the source transaction only read. */
    private void commit(Connection src, Connection dst, List<Done> batch) throws SQLException {
        try {
            dst.commit();
        } catch (SQLException e) {
            throw failure("committing " + batch.size() + " tables on the target", e, null);
        }
        src.commit();
        for (Done d : batch) {
            if (d.piece().unit().pieceCommitted(d.piece(), d.rowsRead(), d.rowsWritten())) {
                copied.accept(d.piece().unit());
            }
        }
        batch.clear();
    }

    private static void cancel(org.postgresql.copy.CopyOperation op) {
        if (op != null && op.isActive()) {
            try {
                op.cancelCopy();
            } catch (SQLException ignored) {
                // the transaction is rolled back anyway
            }
        }
    }

    /** The server's message names the table or row at fault; driver text never reaches clients. */
    static RuntimeException failure(String what, SQLException e, String fix) {
        String state = e.getSQLState() == null ? "none" : e.getSQLState();
        String message = e instanceof PSQLException p && p.getServerErrorMessage() != null
                && p.getServerErrorMessage().getMessage() != null ? p.getServerErrorMessage().getMessage()
                : "the connection failed";
        return new ApiException(502, "copy_failed", "The copy failed", what + " failed: " + message + " (SQLSTATE "
                + state + ")" + (fix == null ? "; nothing of this copy is kept: fix the cause and rerun it (it starts "
                + "again under a new slot)" : "; " + fix), null, List.of(), e);
    }
}
