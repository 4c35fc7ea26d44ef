// Azure Monitor alert rules on the app's Application Insights, and the action group they notify. They complement
// the app's own alerts (docs/alerts.md): these fire when the app itself is unwell or when conversions fail in
// bulk, whoever the app's channels would have told. Runbook: docs/operations.md; queries: docs/queries.kql.
param location string
param tags object = {}
param namePrefix string
param applicationInsightsId string
@description('E-mail addresses notified by the action group; none: the rules still fire and show in the portal.')
param alertEmails array = []
@description('Conversion failures (Failed or TimedOut) per hour above which the first rule fires.')
@minValue(0)
param conversionFailureThreshold int = 5
param storagePrefix string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'streamops'
    enabled: true
    emailReceivers: [
      for (email, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
  }
}

// Counts the app's `conversion.finished` metric events (lib/core/metrics.ts: log lines
//   metric {"metric":"conversion.finished","value":1,"registry":"…","status":"Failed","errorCode":"…"} ).
resource conversionFailures 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-conversion-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Streaming conversions failing (> ${conversionFailureThreshold} in 1 h)'
    description: 'More conversions ended Failed or TimedOut in the last hour than the threshold. Runbook: docs/operations.md#conversion-failures-azure-monitor.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: '''
traces
| where message startswith "metric "
| extend m = parse_json(substring(message, 7))
| where tostring(m.metric) == "conversion.finished" and tostring(m.status) in ("Failed", "TimedOut")
| extend registry = tostring(m.registry), errorCode = tostring(m.errorCode)
| summarize failures = sum(todouble(m.value)) by registry, errorCode
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            { name: 'registry', operator: 'Include', values: ['*'] }
            { name: 'errorCode', operator: 'Include', values: ['*'] }
          ]
          operator: 'GreaterThan'
          threshold: conversionFailureThreshold
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [actionGroup.id] }
  }
}

// The Functions host logs "Message has reached MaxDequeueCount of 5. Moving message to queue '<queue>-poison'."
// when a queue message failed five times. Any such move for one of this app's queues needs a person.
// Multi-line Bicep strings do not interpolate: the prefix goes in with replace().
var poisonQuery = '''
traces
| where message has "MaxDequeueCount" and message has "-poison"
| extend poisonQueue = extract(@"queue '([^']+-poison)'", 1, message)
| where poisonQueue startswith "__PREFIX__-"
| summarize moved = count() by poisonQueue
'''

resource poisonMessages 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-poison-messages'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Messages moved to a poison queue (${storagePrefix}-*-poison)'
    description: 'A tracking, alert, backfill or audit message failed maxDequeueCount times. Runbook: docs/operations.md#poison-messages-azure-monitor.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: replace(poisonQuery, '__PREFIX__', storagePrefix)
          timeAggregation: 'Total'
          metricMeasureColumn: 'moved'
          dimensions: [
            { name: 'poisonQueue', operator: 'Include', values: ['*'] }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: false
    actions: { actionGroups: [actionGroup.id] }
  }
}

// Counts the app's `event.rejected` metric events with cause `unknown-topic` (lib/conversion/service.ts:
//   metric {"metric":"event.rejected","value":1,"cause":"unknown-topic","topic":"/subscriptions/…"} ).
// An Event Grid event whose topic is not a configured registry reached the webhook with the Event Grid system key:
// a subscription of a registry missing from REGISTRIES, or someone holding the key. The app drops it (202); a
// person decides which. Scheduled query rules: learn.microsoft.com/azure/azure-monitor/alerts/alerts-types#log-alerts
// (API: learn.microsoft.com/azure/templates/microsoft.insights/2021-08-01/scheduledqueryrules).
resource unknownTopicEvents 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-unknown-topic-events'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Event Grid events from a topic that is not a configured registry'
    description: 'onRegistryEvent rejected events whose topic is not in REGISTRIES (misrouted subscription or leaked Event Grid key). Runbook: docs/operations.md#unknown-topic-events-azure-monitor.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: '''
traces
| where message startswith "metric "
| extend m = parse_json(substring(message, 7))
| where tostring(m.metric) == "event.rejected" and tostring(m.cause) == "unknown-topic"
| extend topic = tostring(m.topic)
| summarize rejected = sum(todouble(m.value)) by topic
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'rejected'
          dimensions: [
            { name: 'topic', operator: 'Include', values: ['*'] }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [actionGroup.id] }
  }
}

output actionGroupId string = actionGroup.id
