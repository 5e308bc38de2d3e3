package io.pgferry.agent.copy;

import java.util.List;

/**
 * The copy as {@code GET /v1/migrations/{m}/copy} shows it: live while it runs, else as its state file left it.
 *
 * @param status {@link CopyState#status()}; {@code copying} while it runs
 * @param phase while it runs: {@code preparing}, {@code copying}, {@code indexing}, {@code subscribing}
 * @param tables per table: state, bytes, rows read on the source and written on the target
 */
public record CopyView(String status, boolean running, String phase, Progress progress,
                       List<CopyState.TableState> tables, List<String> notes) {

    /**
     * @param bytesDone source bytes of the pieces committed on the target, plus what runs now (COPY's own bytes,
     *                  capped at the piece's size)
     * @param etaSeconds the data still to copy at the rate so far; null before the first commit and once copied
     */
    public record Progress(int tablesTotal, int tablesCopied, int tablesReady, long bytesTotal, long bytesDone,
                           long streamedBytes, int indexBuildsTotal, int indexBuildsDone, double elapsedSeconds,
                           Double bytesPerSecond, Double etaSeconds) {
    }
}
