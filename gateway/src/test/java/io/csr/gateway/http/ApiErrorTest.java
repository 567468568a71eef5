package io.csr.gateway.http;

import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import static org.assertj.core.api.Assertions.assertThat;

class ApiErrorTest {
    @Test
    void onlyAnOutageOfPostgresIs503AndNoneShowsTheDatabasesText() {
        SQLException refused = new SQLException("Connection to 127.0.0.1:5 refused", "08001");
        SQLException pool = new SQLTransientConnectionException("csr-gateway-postgres - Connection is not available, request timed out after 5000ms");
        SQLException shutdown = new SQLException("terminating connection due to administrator command", "57P01");
        SQLException badDate = new SQLException("ERROR: date out of range: \"+5874898-01-01\"", "22008");
        SQLException check = new SQLException("ERROR: new row violates check constraint \"participants_user_id_check\"", "23514");
        for (SQLException e : new SQLException[]{refused, pool, shutdown}) {
            ApiError a = ApiError.fromPostgres(e);
            assertThat(a.status()).isEqualTo(503);
            assertThat(a.retryAfterSeconds()).isPositive();
            assertThat(a.getMessage()).doesNotContain(e.getMessage()).contains("retry");
        }
        for (SQLException e : new SQLException[]{badDate, check}) {
            ApiError a = ApiError.fromPostgres(e);
            assertThat(a.status()).isEqualTo(500);
            assertThat(a.getMessage()).doesNotContain("ERROR").doesNotContain("constraint").contains("requestId");
        }
    }
}
