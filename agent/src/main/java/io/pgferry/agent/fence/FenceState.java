package io.pgferry.agent.fence;

import io.pgferry.agent.sequences.SequenceValue;
import java.util.List;

/**
 * A database's fence as the catalogs show it (the database's own default_transaction_read_only setting is the
 * record a rerun reads) and as the agent noted it in {@code state_dir/{m}/}.
 *
 * @param fenced the database carries {@code default_transaction_read_only = on}
 * @param fencedAt when this agent fenced it (from its state file), null when it did not
 * @param terminated client sessions ended by this call (pid, user, application)
 * @param interrupted how many of them were inside a transaction, which the end rolled back (the transactions the
 *                    fence failed; a session-pooled PgBouncer client's connection is one of these sessions)
 * @param lsn pg_current_wal_lsn() after the fence and the terminations: everything committed before is below it
 * @param sequences the scope's sequences as the fence left them, when asked for (else absent)
 */
public record FenceState(String database, boolean fenced, String fencedAt, List<String> terminated,
                         int interrupted, String lsn, List<SequenceValue> sequences) {
    FenceState(String database, boolean fenced, String fencedAt, List<String> terminated, int interrupted,
               String lsn) {
        this(database, fenced, fencedAt, terminated, interrupted, lsn, null);
    }

    public record Response(FenceState fence) {
    }
}
