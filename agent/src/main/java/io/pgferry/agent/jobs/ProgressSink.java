package io.pgferry.agent.jobs;

/** What a job's work reports its progress through; cheap to call, never blocks. */
@FunctionalInterface
public interface ProgressSink {
    void report(int done, int total, String message);
}
