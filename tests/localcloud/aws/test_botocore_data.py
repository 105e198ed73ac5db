"""The twin's botocore sessions share one data loader: service models are parsed once per process."""

import boto3
import botocore.session

from localcloud.aws.botocore_data import share_botocore_loader


def test_sessions_made_after_sharing_use_one_loader_and_parse_a_model_once() -> None:
    share_botocore_loader()
    first, second = boto3.Session(region_name="ap-southeast-1"), boto3.Session(region_name="ap-southeast-1")
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    assert botocore.session.Session().get_component("data_loader") is loader
    model = first.client("ec2").meta.service_model._service_description
    assert second.client("ec2").meta.service_model._service_description is model  # from the loader's cache
    share_botocore_loader()  # idempotent
    assert boto3.Session()._session.get_component("data_loader") is loader
