@Library('pipeline-lib@v2.3.1') _
pipeline {
  agent any
  parameters {
    string(name: 'TARGET', defaultValue: 'staging')
    booleanParam(name: 'DRY_RUN', defaultValue: true)
  }
  environment {
    DEPLOY = credentials('deploy-user')
  }
  stages {
    stage('deploy') {
      steps {
        withCredentials([string(credentialsId: 'api', variable: 'API_TOKEN'),
                         usernamePassword(credentialsId: 'reg', usernameVariable: 'REG_USER',
                                          passwordVariable: 'REG_PASS')]) {
          sh "curl -H 'Authorization: Bearer ${API_TOKEN}' https://api.example.com"
          sh 'curl -H "Authorization: Bearer $API_TOKEN" https://api.example.com'
          sh "docker login -u \$REG_USER -p \$REG_PASS registry.example.com"
          sh """
            docker login -u $REG_USER --password-stdin <<< "$REG_PASS"
          """
          sh '''
            echo "$REG_PASS" | docker login -u "$REG_USER" --password-stdin
          '''
          sh "deploy --user ${DEPLOY_USR} --to ${params.TARGET}"
          sh "echo build ${env.BUILD_NUMBER} dry=${params.DRY_RUN}"
        }
      }
    }
  }
}
