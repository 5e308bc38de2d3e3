package io.pgferry.agent.transactions;

import java.util.List;

/**
 * The client transactions open on one database, oldest first.
 *
 * @param hidden client sessions of the database whose state this agent's role may not read (it needs
 *               {@code pg_read_all_stats} or {@code pg_monitor} to see other roles' sessions): they may hold
 *               transactions nobody can see
 */
public record Transactions(String database, List<OpenTransaction> transactions, int hidden) {
}
