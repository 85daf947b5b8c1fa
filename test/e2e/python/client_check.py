"""python3-kubernetes (Debian) against a Skiff server: list, create, watch, delete.

Usage: client_check.py URL. Prints one JSON object with what each step saw; the mocha test asserts.
"""
import json
import sys
import threading

from kubernetes import client, watch

url = sys.argv[1]
configuration = client.Configuration()
configuration.host = url
api = client.CoreV1Api(client.ApiClient(configuration))
out = {}

out["namespaces"] = sorted(ns.metadata.name for ns in api.list_namespace().items)
start = api.list_namespaced_config_map("default").metadata.resource_version

events = []
def watch_configmaps():
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=10):
        events.append("%s %s" % (event["type"], event["object"].metadata.name))
        if len(events) >= 3:
            w.stop()

watcher = threading.Thread(target=watch_configmaps)
watcher.start()

body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="from-python", labels={"lang": "python"}), data={"a": "1"})
created = api.create_namespaced_config_map("default", body)
out["created_uid"] = bool(created.metadata.uid)
api.patch_namespaced_config_map("from-python", "default", {"data": {"b": "2"}})
out["listed"] = [cm.metadata.name for cm in api.list_namespaced_config_map("default", label_selector="lang=python").items]
api.delete_namespaced_config_map("from-python", "default")
try:
    api.read_namespaced_config_map("from-python", "default")
    out["after_delete"] = 200
except client.exceptions.ApiException as e:
    out["after_delete"] = e.status

watcher.join(15)
out["events"] = events
print(json.dumps(out))
