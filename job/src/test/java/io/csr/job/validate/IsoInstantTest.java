package io.csr.job.validate;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IsoInstantTest {
    @Test
    void agreesWithInstantParseOnTheCommonFormWithEveryFractionLength() {
        Random random = new Random(11);
        for (int i = 0; i < 50_000; i++) {
            long seconds = random.nextLong(0, 4_291_747_199L);
            int nanos = random.nextInt(1_000_000_000);
            String text = Instant.ofEpochSecond(seconds, nanos).toString(); // 0, 3, 6 or 9 fraction digits
            int digits = random.nextInt(10);
            String trimmed = digits == 0 ? text.substring(0, 19) + "Z"
                    : text.substring(0, 19) + "." + String.format("%09d", nanos).substring(0, digits) + "Z";
            for (String s : new String[] {text, trimmed}) {
                assertThat(IsoInstant.fastMillis(s)).as(s).isEqualTo(Instant.parse(s).toEpochMilli());
                assertThat(IsoInstant.parseMillis(s)).as(s).isEqualTo(Instant.parse(s).toEpochMilli());
            }
        }
    }

    @Test
    void leavesEverythingElseToInstantParseWithItsResultOrItsError() {
        String[] valid = {"2026-11-27t10:15:30Z", "2026-11-27T10:15:30z", "2026-11-27T10:15:30+01:00",
                "2026-11-27T10:15:30.123-05:30", "1969-12-31T23:59:59.999Z", "+12026-11-27T10:15:30Z",
                "2026-11-27T24:00:00Z", "2026-11-27T23:59:60Z", "2026-11-27T10:15:30.Z"}; // java.time's quirks, kept
        for (String s : valid) {
            assertThat(IsoInstant.fastMillis(s)).as(s).isEqualTo(-1);
            assertThat(IsoInstant.parseMillis(s)).as(s).isEqualTo(Instant.parse(s).toEpochMilli());
        }
        String[] invalid = {"2026-02-29T10:15:30Z", "2026-13-01T10:15:30Z", "2026-11-31T00:00:00Z",
                "2026-11-27T10:60:00Z", "2026-11-27T10:15:30.1234567890Z",
                "2026-11-27 10:15:30Z", "2026-1a-27T10:15:30Z", "2026-11-27T10:15:30", "", "yesterday"};
        for (String s : invalid) {
            assertThat(IsoInstant.fastMillis(s)).as(s).isEqualTo(-1);
            assertThatThrownBy(() -> Instant.parse(s)).as("java.time rejects %s too", s)
                    .isInstanceOf(DateTimeParseException.class);
            assertThatThrownBy(() -> IsoInstant.parseMillis(s)).as(s).isInstanceOf(DateTimeParseException.class);
        }
        assertThat(IsoInstant.fastMillis("2024-02-29T00:00:00Z")).isEqualTo(Instant.parse("2024-02-29T00:00:00Z").toEpochMilli());
    }
}
