package io.spillway.center;

import io.spillway.metrics.ConfigMappingDoc;
import org.junit.jupiter.api.Test;

/** The "Center gateway" table of docs/configuration.md lists exactly the keys {@link CenterConfig} declares, with their defaults. */
class CenterConfigDocTest {

  @Test
  void everyDeclaredKeyIsDocumentedWithItsDefaultAndNothingElseIs() throws Exception {
    ConfigMappingDoc.assertDocuments(CenterConfig.class, "Center gateway");
  }
}
