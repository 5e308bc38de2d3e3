package io.pgferry.agent.jobs;

/** The body of a long step; its return value becomes the job's {@code result}. */
@FunctionalInterface
public interface JobWork {
    Object run(ProgressSink progress) throws Exception;
}
