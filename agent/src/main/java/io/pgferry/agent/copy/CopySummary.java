package io.pgferry.agent.copy;

import java.util.List;

/**
 * What a copy did, in totals; {@code GET copy} has the same per table.
 *
 * @param status the state file's status after the step ({@code done} once the subscription exists; {@code native}
 *               when the subscription was made by native table sync, without this copy)
 * @param outcome {@code copied} (a first copy), {@code recopied} (an earlier one was interrupted: its slot dropped,
 *                its tables emptied, all copied again under a new slot), {@code subscribed} (an earlier copy had
 *                finished: only the subscription was missing), {@code unchanged} (the subscription existed)
 * @param consistentLsn the slot's consistent point: the snapshot the rows were read in, where streaming starts
 * @param rows rows written on the target (equal to those read on the source, per table, or the copy fails)
 * @param timings seconds per part, in order: {@code checks} (both sides read), {@code slot} (waiting for the
 *                consistent point), {@code plan} (catalogs, index script), {@code rows} (until the last table's rows
 *                were committed), {@code indexes} (the builds still running then), {@code subscription}
 * @param notes what was not copied and why (a foreign table partition), or not split into ranges
 */
public record CopySummary(String status, String outcome, String slot, String consistentLsn, int tables, long bytes,
                          long rows, int binaryTables, int indexBuilds, double seconds,
                          java.util.Map<String, Double> timings, List<String> notes) {
}
