package io.pgferry.agent.copy;

/** Same major on both sides. */
class Copy16To16Test extends CopyContract {
    @Override
    int sourceMajor() {
        return 16;
    }

    @Override
    int targetMajor() {
        return 16;
    }
}
