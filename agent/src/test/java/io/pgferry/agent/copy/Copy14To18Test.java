package io.pgferry.agent.copy;

/** The oldest source to the newest target: the replication command's old syntax, binary across versions. */
class Copy14To18Test extends CopyContract {
    @Override
    int sourceMajor() {
        return 14;
    }

    @Override
    int targetMajor() {
        return 18;
    }
}
