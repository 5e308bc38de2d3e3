package io.pgferry.agent.status;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.syncstatus.SubscriptionStats;
import java.util.List;
import java.util.Map;

/**
 * Everything of one migration that exists on this server, source and target objects alike (a server can be
 * both, and the answer must not depend on knowing which).
 *
 * @param currentWalLsn this server's WAL position; absent on a standby
 * @param phase {@code none}, {@code database} (exists, no tables), {@code schema} (tables, no publication or
 *              subscription), {@code published} and {@code replicating} (source: publication, and a slot a
 *              subscriber is connected to), {@code subscribed} (target: subscription disabled or without tables),
 *              {@code copying}, {@code streaming} (target: every table ready)
 */
public record MigrationStatus(Role role, Publication publication, Slot slot, String currentWalLsn,
                             Database database, Tables tables, Subscription subscription, String phase) {

    /** @param copyPolicies tables of this database carrying the role's temporary copy policy (row-level security) */
    public record Role(String name, boolean exists, List<TableRef> copyPolicies) {
    }

    public record Publication(String name, boolean exists, List<TableRef> tables) {
    }

    /**
     * @param lagBytes WAL the subscriber has not yet confirmed: current WAL position minus confirmed_flush_lsn
     * @param walStatus reserved, extended, unreserved or lost (lost: the subscriber can never catch up)
     */
    public record Slot(String name, boolean exists, String database, Boolean active, Long lagBytes,
                       String walStatus, String confirmedFlushLsn) {
    }

    public record Database(String name, boolean exists) {
    }

    /** @param present ordinary tables and partitioned roots in the database's user schemas */
    public record Tables(int present) {
    }

    /**
     * @param states how many of its tables are in each pg_subscription_rel state, by state name
     * @param stats its error and conflict counters (written beside the other fields: {@code counters},
     *              {@code conflicts} - non-zero conflict counters, PostgreSQL 18 - and {@code conflict_tables})
     */
    public record Subscription(String name, boolean exists, Boolean enabled, Integer total, Integer ready,
                               Map<String, Integer> states, @JsonUnwrapped SubscriptionStats stats) {
    }
}
