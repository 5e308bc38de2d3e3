package io.pgferry.agent.info;

/**
 * The filesystem that holds the server's WAL ({@code pg_wal}, followed where it is a link), as the agent's host sees
 * it: what the replication slots' retained WAL can grow into before the disk is full.
 *
 * @param path the WAL directory, links resolved
 */
public record WalDisk(String path, long freeBytes, long totalBytes) {
}
