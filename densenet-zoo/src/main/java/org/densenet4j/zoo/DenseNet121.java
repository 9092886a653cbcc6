package org.densenet4j.zoo;

import java.util.function.UnaryOperator;

/** DenseNet-121 in DL4J's zoo API; see {@link DenseNetPreset#DENSENET121}. */
public class DenseNet121 extends DenseNetZooModel {

    /** DenseNet-121 with 1000 classes and a 224x224x3 input. */
    public DenseNet121() {
        super(DenseNetPreset.DENSENET121, UnaryOperator.identity());
    }

    /** DenseNet-121 changed by {@code customise}, e.g. {@code c -> c.numClasses(10)}. */
    public DenseNet121(UnaryOperator<DenseNetConfig.Builder> customise) {
        super(DenseNetPreset.DENSENET121, customise);
    }
}
