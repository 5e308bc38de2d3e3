package io.pgferry.agent.copy;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.sql.Sql;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * One table of the scope as the copy moves it: the table (a partitioned root receives its rows through partition
 * routing, so the target may partition differently), the columns both sides name, the pieces read on the source
 * (the table, each leaf partition, or ctid ranges of a big one), and how far it is. Counters are updated by the
 * copy's threads; everything else is fixed when planned.
 */
final class CopyUnit {
    /** Where a table is: every piece's rows committed on the target is {@code COPIED}; its indexes built, READY. */
    enum State {
        PENDING, COPYING, COPIED, READY;

        String json() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    final TableRef table;
    final List<String> columns;
    /** Every column of a type of PostgreSQL itself: known text and binary forms, the same in every cluster. */
    final boolean builtin;
    final boolean binary;
    final List<CopyPiece> pieces = new ArrayList<>();
    /** The partitioned tables below this one (sub-partitioned partitions): no rows, keys and indexes of their own. */
    final List<TableRef> partitioned = new ArrayList<>();
    /** Source bytes of every piece (heap and TOAST), what progress and ETA count in. */
    long bytes;
    private volatile State state = State.PENDING;
    private final AtomicInteger piecesLeft = new AtomicInteger();
    final AtomicLong bytesDone = new AtomicLong();
    final AtomicLong streamedBytes = new AtomicLong();
    final AtomicLong rowsRead = new AtomicLong();
    final AtomicLong rowsWritten = new AtomicLong();

    CopyUnit(TableRef table, List<String> columns, boolean builtin, boolean binary) {
        this.table = table;
        this.columns = List.copyOf(columns);
        this.builtin = builtin;
        this.binary = binary;
    }

    /** The indexes of a table at least this big (or split into ranges) are built in parallel with each other. */
    static final long PARALLEL_BYTES = 64L * 1024 * 1024;

    void add(CopyPiece piece) {
        pieces.add(piece);
        bytes += piece.bytes();
        piecesLeft.incrementAndGet();
    }

    boolean big() {
        return bytes >= PARALLEL_BYTES || pieces.stream().anyMatch(p -> !p.whole());
    }

    State state() {
        return state;
    }

    void copying() {
        if (state == State.PENDING) {
            state = State.COPYING;
        }
    }

    /** A piece committed on the target; true when it was the last one, so the table's indexes can be built. */
    boolean pieceCommitted(CopyPiece piece, long rowsRead, long rowsWritten) {
        this.rowsRead.addAndGet(rowsRead);
        this.rowsWritten.addAndGet(rowsWritten);
        bytesDone.addAndGet(piece.bytes());
        boolean last = piecesLeft.decrementAndGet() == 0;
        if (last) {
            state = State.COPIED;
        }
        return last;
    }

    /** A table without pieces (a partitioned table without partitions): copied as soon as it is planned. */
    void nothingToCopy() {
        state = State.COPIED;
    }

    /** A table without pieces (a partitioned table without partitions) has nothing to wait for. */
    boolean empty() {
        return pieces.isEmpty();
    }

    void ready() {
        state = State.READY;
    }

    /** {@code ("a", "b")}, or nothing for a table without columns (COPY takes no empty list). */
    String columnList() {
        return columns.isEmpty() ? "" : " (" + columns.stream().map(Sql::ident).collect(Collectors.joining(", "))
                + ")";
    }

    String targetSql() {
        return "COPY " + table.quoted() + columnList() + " FROM STDIN" + format();
    }

    String format() {
        return binary ? " (FORMAT binary)" : "";
    }
}
