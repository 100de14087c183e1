Set-TimeZone -Id 'W. Europe Standard Time'
