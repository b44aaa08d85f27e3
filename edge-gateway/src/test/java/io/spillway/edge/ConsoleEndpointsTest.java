package io.spillway.edge;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Test;

/**
 * The console as the edge app serves it (docs/console.md): its page and scripts from the console jar,
 * and its JSON; open, since no console token is declared. The pages themselves are tested in a browser
 * by console-tests/.
 */
@QuarkusTest
class ConsoleEndpointsTest {

  @Test
  void theEdgeServesTheConsoleAndItsJson() throws Exception {
    given().redirects().follow(false).get("/console").then().statusCode(303)
        .header("Location", containsString("/console/"));
    given().get("/console/").then().statusCode(200).contentType(containsString("text/html"))
        .body(containsString("<script type=\"module\" src=\"console.js\">"));
    given().get("/console/console.js").then().statusCode(200).body(containsString("/console/api/federation"));
    given().get("/console/chart.js").then().statusCode(200).body(containsString("export function lineChart"));

    given().get("/console/api/self").then().statusCode(200)
        .body("kind", equalTo("edge")).body("name", equalTo("test")).body("pool", equalTo("edge/test"));
    given().get("/console/api/whoami").then().statusCode(200)
        .body("authentication", equalTo("none")).body("role", equalTo("admin"))
        .body("notice", containsString("no authentication configured"));

    JsonPath f = given().get("/console/api/federation?history=true").then().statusCode(200).extract().jsonPath();
    assertEquals(1, f.getList("gateways").size(), "no peers declared: this gateway only");
    assertTrue(f.getBoolean("gateways[0].up"), f.prettify());
    assertEquals("edge/test", f.getString("gateways[0].poolName"));
    assertTrue(f.getList("gateways[0].history.samples").size() >= 1, "sampled at start-up: " + f.prettify());

    given().get("/console/api/history?since=yesterday").then().statusCode(400)
        .body("field", equalTo("since"));
  }
}
