package org.densenet4j.zoo;

import java.util.function.UnaryOperator;

/** DenseNet-169 in DL4J's zoo API; see {@link DenseNetPreset#DENSENET169}. */
public class DenseNet169 extends DenseNetZooModel {

    /** DenseNet-169 with 1000 classes and a 224x224x3 input. */
    public DenseNet169() {
        super(DenseNetPreset.DENSENET169, UnaryOperator.identity());
    }

    /** DenseNet-169 changed by {@code customise}, e.g. {@code c -> c.numClasses(10)}. */
    public DenseNet169(UnaryOperator<DenseNetConfig.Builder> customise) {
        super(DenseNetPreset.DENSENET169, customise);
    }
}
