package io.csr.perf.replay;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SequenceCheckTest {
    @Test
    void aResumeThatSkipsItsFirstEventsCountsThemAsAGap() {
        SequenceCheck c = new SequenceCheck(1);

        assertThat(c.accept(4)).isTrue();
        assertThat(c.accept(5)).isTrue();

        assertThat(c.gaps()).isEqualTo(3); // 1, 2, 3 never came
        assertThat(c.received()).isEqualTo(2);
    }

    @Test
    void aRepeatIsCountedAndNotReceivedAgain() {
        SequenceCheck c = new SequenceCheck(1);
        c.accept(1);
        c.accept(2);

        assertThat(c.accept(2)).isFalse();
        assertThat(c.accept(1)).isFalse();
        assertThat(c.accept(3)).isTrue();

        assertThat(c.repeats()).isEqualTo(2);
        assertThat(c.gaps()).isZero();
        assertThat(c.received()).isEqualTo(3);
    }

    @Test
    void aFreshSubscriptionStartsWherever() {
        SequenceCheck c = new SequenceCheck(-1);

        assertThat(c.accept(41)).isTrue();
        assertThat(c.accept(42)).isTrue();

        assertThat(c.gaps()).isZero();
    }
}
