//! The API-key master secret read the way the authorizer and functions read it at start-up:
//! from an SSM SecureString parameter (moto's SSM, a real server), decrypted; and the errors an
//! operator sees when the parameter is missing or too short — naming the parameter, never
//! holding the secret.

use aws_sdk_ssm::types::ParameterType;
use feedgate::auth::apikey::MasterSecret;
use feedgate_functions::aws::master_secret;
use feedgate_functions::config::MasterSource;
use feedgate_tests::moto;

async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region("us-east-1")
        .endpoint_url(moto::shared().endpoint())
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}

async fn put_secure(config: &aws_config::SdkConfig, name: &str, value: &str) {
    aws_sdk_ssm::Client::new(config)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

/// The master secret as the functions read it, from parameter `name`.
async fn from_ssm(
    config: &aws_config::SdkConfig,
    name: &str,
) -> Result<Option<MasterSecret>, String> {
    master_secret(&MasterSource::SsmParameter(name.into()), config).await
}

#[tokio::test]
async fn reads_the_decrypted_secure_string_from_ssm() {
    let config = moto_config().await;
    let secret = "ssm-master-secret-0123456789-abcdefghij";
    put_secure(&config, "/feedgate/test/master", secret).await;

    let master = from_ssm(&config, "/feedgate/test/master")
        .await
        .expect("read")
        .expect("a master secret");
    let expected = MasterSecret::new(secret).expect("long enough");
    assert_eq!(master.key("101"), expected.key("101"));
    assert_ne!(
        master.key("101"),
        MasterSecret::new("another-master-secret-0123456789-abcdef")
            .expect("long enough")
            .key("101")
    );
}

#[tokio::test]
async fn a_missing_or_short_parameter_is_an_error_naming_it_without_the_secret() {
    let config = moto_config().await;
    let missing = from_ssm(&config, "/feedgate/test/absent")
        .await
        .expect_err("no such parameter");
    assert!(missing.contains("/feedgate/test/absent"), "{missing}");
    assert!(
        missing.contains("FEEDGATE_MASTER_SECRET_PARAM"),
        "{missing}"
    );

    let short = "too-short-secret";
    put_secure(&config, "/feedgate/test/short", short).await;
    let refused = from_ssm(&config, "/feedgate/test/short")
        .await
        .expect_err("shorter than 32 bytes");
    assert!(
        refused.contains("SSM parameter /feedgate/test/short"),
        "{refused}"
    );
    assert!(
        !refused.contains(short),
        "the error shows the secret: {refused}"
    );
}
